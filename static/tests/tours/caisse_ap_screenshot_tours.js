import * as Chrome from "@point_of_sale/../tests/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import * as PaymentScreen from "@point_of_sale/../tests/tours/utils/payment_screen_util";
import * as ProductScreen from "@point_of_sale/../tests/tours/utils/product_screen_util";
import * as ReceiptScreen from "@point_of_sale/../tests/tours/utils/receipt_screen_util";
import * as CaisseAp from "@l10n_fr_pos_caisse_ap_ip/../tests/tours/caisse_ap_util";
import { screenshot } from "@l10n_fr_pos_caisse_ap_ip/../tests/tours/screenshot_util";
import { registry } from "@web/core/registry";

// The screenshots show a French shop: the tills and the back office are in French, so these
// steps find their elements by the French words the cashier reads (Odoo's and this addon's
// translations) or by CSS, never by English text.
const FR = {
    declined: "Paiement refusé",
    unknown: "Résultat du paiement inconnu",
    forceDone: "Forcer la validation",
    retry: "Réessayer",
    cancelled: "Transaction annulée",
    waitingCard: "En attente de la carte",
    waitingCustomer: "En attente du client sur le terminal",
    closeRegister: "Fermer la caisse",
    cancelledOnTerminal: "Paiement annulé sur le terminal",
    notSent: "n'a pas été envoyé au terminal",
    busy: "est occupé par un autre paiement",
    partial: "Paiement partiel",
    offline: "toujours en attente de la réponse du",
};

function addProduct(product) {
    return [
        {
            content: `click product '${product}'`,
            trigger: `article.product .product-content .product-name:contains("${product}")`,
            run: "click",
        },
        {
            content: `'${product}' is on the order`,
            trigger: `.order-container .orderline .product-name:contains("${product}")`,
        },
    ];
}

/** Adds one `product` to the order, then pays it on the terminal. */
function payByCard(product) {
    return [
        addProduct(product),
        ProductScreen.clickPayButton(),
        PaymentScreen.isShown(),
        PaymentScreen.clickPaymentMethod("TPE Carte"),
    ].flat();
}

registry.category("web_tour.tours").add("CaisseApScreenshotFormTour", {
    steps: () =>
        [
            {
                content: "the payment method form shows the shop's terminal address",
                trigger: ".o_form_view .o_field_widget[name='fr_caisse_ap_ip_address'] input",
                run() {
                    const address = this.anchor.value;
                    if (address !== "192.168.1.50") {
                        throw new Error(`unexpected terminal address ${address}`);
                    }
                },
            },
            screenshot("screenshot_payment_method"),
            {
                content: "look for the shop's terminals from the payment method",
                trigger: ".o_form_view button[name='action_caisse_ap_find_terminals']",
                run: "click",
            },
            {
                content: "the finder proposes the network of the method's address",
                trigger: ".modal .o_field_widget[name='network'] input:value(192.168.1.0/24)",
            },
            {
                content: "search it",
                trigger: ".modal .modal-footer button[name='action_scan']",
                run: "click",
            },
            {
                content: "both terminals are listed, the method's own marked as used",
                trigger:
                    '.modal .o_data_row:has(td:contains(192.168.1.50)):has(td:contains("Carte bancaire (TPE)"))' +
                    " ~ .o_data_row:has(td:contains(192.168.1.52))",
            },
            screenshot("screenshot_terminal_finder"),
            {
                content: "close the finder",
                trigger: ".modal .modal-footer button.btn-secondary",
                run: "click",
            },
            {
                content: "the finder is closed",
                trigger: "body:not(:has(.modal))",
            },
        ].flat(),
});

registry.category("web_tour.tours").add("CaisseApScreenshotPosTour", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm(),
            addProduct("Desk Pad"),
            payByCard("Letter Tray"),
            // Declined first: the reason, then the line that offers Retry.
            CaisseAp.dialogSays(FR.declined, "05"),
            screenshot("screenshot_pos_declined"),
            Dialog.confirm(),
            CaisseAp.lineStatusIs(FR.cancelled),
            {
                content: "click Retry on the terminal line",
                trigger: `.paymentline.electronic_payment .send_payment_request:contains("${FR.retry}")`,
                run: "click",
            },
            CaisseAp.lineStatusIs(FR.waitingCard),
            CaisseAp.noticeContains(FR.waitingCustomer),
            screenshot("screenshot_pos_payment"),
            ReceiptScreen.isShown(),
            {
                content: "the receipt shows the terminal payment's block",
                trigger: ".receipt-screen .caisse_ap_receipt_block",
            },
            screenshot("screenshot_pos_receipt"),
            ReceiptScreen.clickNextOrder(),
            // An answer Odoo cannot read: the cashier is asked to check the terminal.
            payByCard("Desk Pad"),
            CaisseAp.dialogSays(FR.unknown, "terminal"),
            screenshot("screenshot_pos_unknown"),
            {
                content: "the cashier saw the payment accepted: Force done",
                trigger: `.modal .modal-footer .btn-primary:contains("${FR.forceDone}")`,
                run: "click",
            },
            ReceiptScreen.isShown(),
            ReceiptScreen.clickNextOrder(),
            Chrome.clickMenuOption(FR.closeRegister),
            {
                content: "the closing screen shows the terminal's items and totals",
                trigger: ".close-pos-popup .caisse_ap_attention_item + .caisse_ap_attention_item",
            },
            {
                content: "the totals are shown",
                trigger: ".close-pos-popup .caisse_ap_method .caisse_ap_differs",
            },
            screenshot("screenshot_pos_closing"),
        ].flat(),
});

/** The cashier reads `text` in a dialog, closes it, and the line keeps it as its notice. */
function dialogThenNotice(text) {
    return [
        {
            content: `a dialog says "${text}"`,
            trigger: `.modal .modal-body:contains("${text}")`,
        },
        Dialog.confirm(),
        CaisseAp.noticeContains(text),
    ];
}

/** The payment lines only, then the line removed for the next state. */
function linesShot(name) {
    return [
        ...screenshot(name, ".paymentlines > *"),
        {
            content: "remove the line for the next state",
            trigger: ".paymentlines .paymentline.selected .delete-button",
            run: "click",
        },
    ];
}

// The other lines a cashier can see, one order: cancelled on the terminal, not sent, terminal
// busy, partial authorisation, server lost while the customer pays (the test stacks the five
// pictures into one).
registry.category("web_tour.tours").add("CaisseApScreenshotStatesTour", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm(),
            addProduct("Letter Tray"),
            ProductScreen.clickPayButton(),
            PaymentScreen.isShown(),
            PaymentScreen.clickPaymentMethod("TPE Carte"),
            CaisseAp.lineStatusIs(FR.waitingCard),
            {
                content: "the cashier cancels; the customer presses the red button",
                trigger: ".paymentline.electronic_payment .send_payment_cancel",
                run: "click",
            },
            CaisseAp.lineStatusIs(FR.cancelled),
            CaisseAp.noticeContains(FR.cancelledOnTerminal),
            linesShot("screenshot_states_cancelled"),
            PaymentScreen.clickPaymentMethod("TPE Réserve"),
            dialogThenNotice(FR.notSent),
            linesShot("screenshot_states_not_sent"),
            PaymentScreen.clickPaymentMethod("TPE Voisin"),
            dialogThenNotice(FR.busy),
            linesShot("screenshot_states_busy"),
            PaymentScreen.clickPaymentMethod("TPE Carte"),
            CaisseAp.noticeContains(FR.partial),
            screenshot("screenshot_states_partial", ".paymentlines > *"),
            // The rest by card; the till loses the server while the customer pays.
            PaymentScreen.clickPaymentMethod("TPE Carte"),
            CaisseAp.lineStatusIs(FR.waitingCard),
            CaisseAp.setOffline(true),
            CaisseAp.noticeContains(FR.offline),
            screenshot(
                "screenshot_states_offline",
                ".paymentlines .paymentline.selected, .paymentlines .paymentline.selected ~ *",
            ),
            CaisseAp.setOffline(false),
            ReceiptScreen.isShown(),
        ].flat(),
});

registry.category("web_tour.tours").add("CaisseApScreenshotRelayTour", {
    steps: () =>
        [
            {
                content: "the relay's form shows it online, with its payment method",
                trigger: ".o_form_view .o_field_widget[name='payment_method_ids'] .o_data_row",
            },
            screenshot("screenshot_relay"),
            {
                content: "pair the relay again",
                trigger:
                    ".o_form_view .o_form_statusbar button[name='action_caisse_ap_pairing_code']",
                run: "click",
            },
            {
                content: "the dialog shows the command, which asks for the code",
                trigger:
                    '.modal .o_field_widget[name=command]:contains("pair --server https://epicerie-du-marche.odoo.com")' +
                    ":not(:contains(KQ7M-4DXP))",
            },
            {
                content: "and the code to type at its prompt",
                trigger: ".modal .o_field_widget[name='code']:contains(KQ7M-4DXP)",
            },
            screenshot("screenshot_relay_pairing"),
            {
                content: "close the dialog",
                trigger: ".modal .modal-footer button.btn-primary",
                run: "click",
            },
            {
                content: "the dialog is closed",
                trigger: "body:not(:has(.modal))",
            },
        ].flat(),
});

registry.category("web_tour.tours").add("CaisseApScreenshotReviewTour", {
    steps: () =>
        [
            {
                content: "the entry needs attention: open the review dialog",
                trigger: ".o_form_view button[name='action_caisse_ap_review']",
                run: "click",
            },
            {
                content: "the dialog asks for a note",
                trigger: ".modal .o_field_widget[name='note'] textarea",
                run: "edit Checked on the terminal's tickets: not paid, the customer paid cash.",
            },
            screenshot("screenshot_review"),
            {
                content: "leave it for the manager",
                trigger: ".modal .modal-footer button.btn-secondary",
                run: "click",
            },
        ].flat(),
});
