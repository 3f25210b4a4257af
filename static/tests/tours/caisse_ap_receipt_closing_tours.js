import * as Chrome from "@point_of_sale/../tests/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import * as PaymentScreen from "@point_of_sale/../tests/tours/utils/payment_screen_util";
import * as ProductScreen from "@point_of_sale/../tests/tours/utils/product_screen_util";
import * as ReceiptScreen from "@point_of_sale/../tests/tours/utils/receipt_screen_util";
import * as CaisseAp from "@l10n_fr_pos_caisse_ap_ip/../tests/tours/caisse_ap_util";
import { registry } from "@web/core/registry";

const RECEIPT = "TICKET CLIENT SIMULATEUR";

function payWith(method, { send = false } = {}) {
    return [
        ProductScreen.addOrderline("Desk Pad", "1"),
        ProductScreen.clickPayButton(),
        PaymentScreen.isShown(),
        PaymentScreen.clickPaymentMethod(method),
        send ? CaisseAp.clickSend() : [],
    ].flat();
}

/** The printed receipt's Caisse-AP block holds these texts, in this order. */
function blockSays(...texts) {
    return {
        content: `the ticket's terminal block says ${texts.join(" / ")}`,
        trigger: ".receipt-screen .pos-receipt .caisse_ap_receipt_block",
        run() {
            const text = this.anchor.innerText;
            let from = 0;
            for (const expected of texts) {
                const at = text.indexOf(expected, from);
                if (at < 0) {
                    throw new Error(`"${expected}" missing from the ticket block: ${text}`);
                }
                from = at + expected.length;
            }
        },
    };
}

/** Nothing on the printed receipt reads false/undefined, and no more of the card than 4 digits. */
function receiptIsClean() {
    return {
        content: "the receipt has no false, undefined, or card number",
        trigger: ".receipt-screen .pos-receipt",
        run() {
            const text = this.anchor.innerText;
            for (const bad of [/\bfalse\b/i, /\bundefined\b/i, /\bnull\b/i, /497010/]) {
                if (bad.test(text)) {
                    throw new Error(`the receipt contains ${bad}: ${text}`);
                }
            }
        },
    };
}

function nextOrder() {
    return [CaisseAp.noPaymentInProgress(), ReceiptScreen.clickNextOrder()].flat();
}

registry.category("web_tour.tours").add("CaisseApReceiptBlockTour", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),

            // Card, contactless: application, read mode, last 4 digits, authorisation code.
            payWith("TPE Carte"),
            ReceiptScreen.isShown(),
            blockSays("CB (contactless)", "Contactless", "**** 1234", "123456"),
            receiptIsClean(),
            nextOrder(),

            // Partial authorisation: the authorised amount; the rest is paid in cash.
            payWith("TPE Carte"),
            CaisseAp.noticeNotification("authorised only"),
            PaymentScreen.clickPaymentMethod("Cash"),
            PaymentScreen.clickValidate(),
            ReceiptScreen.isShown(),
            blockSays("**** 1234", "123456", "Partial authorisation", "1.00"),
            receiptIsClean(),
            nextOrder(),

            // Check, then ANCV: their mode.
            payWith("TPE Cheque", { send: true }),
            ReceiptScreen.isShown(),
            blockSays("Check"),
            receiptIsClean(),
            nextOrder(),
            payWith("TPE ANCV", { send: true }),
            ReceiptScreen.isShown(),
            blockSays("ANCV"),
            receiptIsClean(),
            nextOrder(),

            // Receipt option on and a terminal receipt: the terminal's ticket, not the block.
            payWith("TPE Voisin"),
            ReceiptScreen.isShown(),
            CaisseAp.receiptHasTerminalTicket(RECEIPT),
            {
                content: "no short block when the terminal's receipt is printed",
                trigger: ".receipt-screen .pos-receipt:not(:has(.caisse_ap_receipt_block))",
            },
            receiptIsClean(),
            nextOrder(),
        ].flat(),
});

/** The closing screen lists the items first, each linked to its journal entry. */
function closingListsItems(reasons) {
    return [
        ...reasons.map((reason) => ({
            content: `the closing screen lists "${reason}"`,
            trigger: `.close-pos-popup .caisse_ap_attention .caisse_ap_attention_item:contains("${reason}") a[href*="/odoo/action-"]`,
        })),
        {
            content: "the items come before the payment methods",
            trigger: ".close-pos-popup .caisse_ap_attention",
            run() {
                const overview = document.querySelector(
                    ".close-pos-popup .payment-methods-overview",
                );
                const items = document.querySelectorAll(
                    ".close-pos-popup .caisse_ap_attention_item",
                );
                if (items.length !== reasons.length) {
                    throw new Error(`${items.length} items shown, ${reasons.length} expected`);
                }
                if (
                    !(
                        this.anchor.compareDocumentPosition(overview) &
                        Node.DOCUMENT_POSITION_FOLLOWING
                    )
                ) {
                    throw new Error("the items are not shown first");
                }
            },
        },
    ];
}

registry.category("web_tour.tours").add("CaisseApClosingTour", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),

            // The fifth kind: outcome unknown, the cashier forces the payment done.
            payWith("TPE Carte"),
            CaisseAp.unknownDialog("Force done"),
            ReceiptScreen.isShown(),
            nextOrder(),

            Chrome.clickMenuOption("Close Register"),
            closingListsItems([
                "Approved, but no sale recorded",
                "Payment forced done without an approval",
                "Unknown outcome never resolved",
                "Approved after a cancel request",
                "POS payment does not match the transaction",
            ]),
            {
                content: "the card method's terminal and POS totals differ, highlighted",
                trigger:
                    ".close-pos-popup .caisse_ap_method:contains('TPE Carte') .caisse_ap_differs .caisse_ap_difference",
            },
            {
                content: "a method that agrees is not highlighted",
                trigger:
                    ".close-pos-popup .caisse_ap_method:contains('TPE Manuel'):not(:has(.caisse_ap_differs))",
            },
            // Odoo's closing, unchanged: count the cash, close.
            ProductScreen.closeWithCashAmount("0"),
            Dialog.confirm("Close Register"),
            Chrome.clickBtn("Backend"),
        ].flat(),
});
