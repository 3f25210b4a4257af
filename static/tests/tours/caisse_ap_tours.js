import * as Chrome from "@point_of_sale/../tests/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import * as PaymentScreen from "@point_of_sale/../tests/tours/utils/payment_screen_util";
import * as ProductScreen from "@point_of_sale/../tests/tours/utils/product_screen_util";
import * as ReceiptScreen from "@point_of_sale/../tests/tours/utils/receipt_screen_util";
import * as TicketScreen from "@point_of_sale/../tests/tours/utils/ticket_screen_util";
import { refresh } from "@point_of_sale/../tests/tours/utils/common";
import * as CaisseAp from "@l10n_fr_pos_caisse_ap_ip/../tests/tours/caisse_ap_util";
import { registry } from "@web/core/registry";

const CARD = "TPE Carte";
const MANUAL = "TPE Manuel";
const CHECK = "TPE Cheque";
const ANCV = "TPE ANCV";
const NEIGHBOUR = "TPE Voisin";
const RECEIPT = "TICKET CLIENT SIMULATEUR";

function newOrderToPay(product = "Desk Pad", quantity = "1") {
    return [
        ProductScreen.addOrderline(product, quantity),
        ProductScreen.clickPayButton(),
        PaymentScreen.isShown(),
    ].flat();
}

function receiptThenNextOrder() {
    return [
        ReceiptScreen.isShown(),
        CaisseAp.noPaymentInProgress(),
        ReceiptScreen.clickNextOrder(),
    ];
}

/**
 * Flows 1 to 4: declined then approved (with the terminal's receipt), unknown outcome then Retry,
 * unknown outcome then Force done, cancel from the POS (cancelled, then approved anyway).
 * The Python test queues the simulator's answers in the same order.
 */
registry.category("web_tour.tours").add("CaisseApCardFlowsTour", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),

            // 1-2. Declined (AF=04) -> message with the reason, line in Retry; Retry -> approved.
            newOrderToPay(),
            PaymentScreen.clickPaymentMethod(CARD),
            CaisseAp.declinedDialog("04"),
            CaisseAp.noticeContains("04"),
            CaisseAp.noPaymentInProgress(),
            CaisseAp.clickRetry(),
            // auto_validate_terminal_payment: the order validates itself.
            ReceiptScreen.isShown(),
            CaisseAp.receiptHasTerminalTicket(RECEIPT),
            receiptThenNextOrder(),

            // 3a. Garbage from the terminal -> outcome unknown -> Retry sends again -> approved.
            // The Retry's first try never reaches the server: its repeat starts the new attempt.
            newOrderToPay(),
            PaymentScreen.clickPaymentMethod(CARD),
            CaisseAp.noticeContains("Outcome unknown"),
            CaisseAp.loseStartRequests(CARD, 1),
            CaisseAp.unknownDialog("Retry"),
            receiptThenNextOrder(),

            // 3b. Garbage again -> outcome unknown -> the cashier saw it paid: Force done.
            newOrderToPay(),
            PaymentScreen.clickPaymentMethod(CARD),
            CaisseAp.unknownDialog("Force done"),
            receiptThenNextOrder(),

            // 3c. Garbage -> the cashier closes the dialog to check the terminal first: the line
            // offers Retry and Force done.
            newOrderToPay(),
            PaymentScreen.clickPaymentMethod(CARD),
            CaisseAp.dialogSays("Payment outcome unknown", "Check the terminal"),
            Dialog.cancel(),
            CaisseAp.lineStatusIs("Transaction cancelled"),
            CaisseAp.noPaymentInProgress(),
            CaisseAp.clickLineForceDone(),
            CaisseAp.lineIsDone(),
            PaymentScreen.clickValidate(),
            receiptThenNextOrder(),

            // 4. Cancel from the POS: red button -> cancelled -> Retry; cancel again but the
            // customer had already paid -> done, with a visible notice.
            newOrderToPay(),
            PaymentScreen.clickPaymentMethod(CARD),
            CaisseAp.waitingForCard(),
            CaisseAp.clickCancel(),
            CaisseAp.lineStatusIs("Request sent"),
            // The final status first: the notice is then checked on a settled screen.
            CaisseAp.lineStatusIs("Transaction cancelled"),
            CaisseAp.noticeContains("Payment cancelled on the terminal"),
            Dialog.isNot(),
            CaisseAp.noPaymentInProgress(),
            CaisseAp.clickRetry(),
            CaisseAp.waitingForCard(),
            CaisseAp.clickCancel(),
            CaisseAp.noticeNotification("approved the payment although a cancel was requested"),
            receiptThenNextOrder(),
            ProductScreen.isShown(),
        ].flat(2),
});

/**
 * Flows 5 to 7: manual send (amount edited, two card payments for one order), check and ANCV
 * next to the card in one order, refund by card (credit).
 */
registry.category("web_tour.tours").add("CaisseApSplitModesRefundTour", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),

            // 6. Manual send: 3.96 paid as 2.00 + 1.96 with two card payments.
            newOrderToPay("Desk Pad", "2"),
            PaymentScreen.clickPaymentMethod(MANUAL),
            CaisseAp.lineStatusIs("Payment request pending"),
            PaymentScreen.clickNumpad("2"),
            PaymentScreen.selectedPaymentlineHas(MANUAL, "2.00"),
            CaisseAp.clickSend(),
            CaisseAp.lineIsDone(),
            PaymentScreen.remainingIs("1.96"),
            PaymentScreen.clickPaymentMethod(MANUAL),
            PaymentScreen.selectedPaymentlineHas(MANUAL, "1.96"),
            CaisseAp.clickSend(),
            receiptThenNextOrder(),

            // 7. Check (00C) and ANCV (00V) next to the card: 5.94 = 2.00 + 1.00 + 2.94.
            newOrderToPay("Desk Pad", "3"),
            PaymentScreen.clickPaymentMethod(CHECK),
            PaymentScreen.clickNumpad("2"),
            PaymentScreen.selectedPaymentlineHas(CHECK, "2.00"),
            CaisseAp.clickSend(),
            CaisseAp.lineIsDone(),
            PaymentScreen.clickPaymentMethod(ANCV),
            PaymentScreen.clickNumpad("1"),
            PaymentScreen.selectedPaymentlineHas(ANCV, "1.00"),
            CaisseAp.clickSend(),
            CaisseAp.lineIsDone(),
            PaymentScreen.remainingIs("2.94"),
            PaymentScreen.clickPaymentMethod(CARD),
            receiptThenNextOrder(),

            // 5. Refund one Desk Pad of the first order: negative line, sent as a credit.
            ProductScreen.clickRefund(),
            TicketScreen.selectOrderByPrice("3.96"),
            ProductScreen.clickNumpad("1"),
            TicketScreen.toRefundTextContains("To Refund: 1.00"),
            TicketScreen.confirmRefund(),
            ProductScreen.isShown(),
            ProductScreen.clickPayButton(),
            PaymentScreen.isShown(),
            PaymentScreen.clickPaymentMethod(CARD),
            receiptThenNextOrder(),
            ProductScreen.isShown(),
        ].flat(2),
});

/**
 * Flows 8 and 9: a page reload during a payment resumes the line (by payment uuid, nothing is
 * sent twice); a terminal busy with another register's payment refuses this one, clearly.
 * Also: network errors, partial authorisation.
 */
registry.category("web_tour.tours").add("CaisseApReloadBusyTour", {
    steps: () =>
        [
            Chrome.startPoS(),
            Dialog.confirm("Open Register"),

            // 8. Reload while the customer is paying.
            newOrderToPay(),
            PaymentScreen.clickPaymentMethod(CARD),
            CaisseAp.waitingForCard(),
            refresh(),
            ProductScreen.isShown(),
            ProductScreen.clickPayButton(),
            PaymentScreen.isShown(),
            CaisseAp.lineIsDone(),
            PaymentScreen.clickValidate(),
            receiptThenNextOrder(),

            // Network: the start cannot reach the server -> clear dialog, nothing sent, Retry;
            // the server is lost while the customer pays -> the POS keeps waiting.
            newOrderToPay(),
            CaisseAp.setOffline(true),
            PaymentScreen.clickPaymentMethod(CARD),
            CaisseAp.dialogSays("The payment could not be started", "cannot be reached"),
            Dialog.confirm(),
            CaisseAp.noPaymentInProgress(),
            CaisseAp.setOffline(false),
            CaisseAp.clickRetry(),
            CaisseAp.waitingForCard(),
            CaisseAp.setOffline(true),
            CaisseAp.noticeContains("still waiting for the terminal"),
            CaisseAp.setOffline(false),
            receiptThenNextOrder(),

            // The reply to the start is lost (connection reset): the POS sends it again and
            // follows the payment it had started, silently; nothing is sent twice.
            newOrderToPay(),
            CaisseAp.loseStartReplies(CARD, 1),
            PaymentScreen.clickPaymentMethod(CARD),
            receiptThenNextOrder(),

            // Every reply is lost: the cashier is told, and the line, which the terminal may
            // have taken, is not replaced without saying the customer was not charged. Retry
            // then finds the payment the terminal approved.
            newOrderToPay(),
            CaisseAp.loseStartReplies(CARD, 99),
            PaymentScreen.clickPaymentMethod(CARD),
            CaisseAp.dialogSays("The payment could not be started", "may have received"),
            Dialog.confirm(),
            CaisseAp.noticeContains("could not confirm"),
            CaisseAp.loseStartReplies(CARD, 0),
            PaymentScreen.clickPaymentlineDelButton(CARD, "1.98"),
            CaisseAp.dialogSays("Did the terminal charge this payment?", "last receipt"),
            Dialog.confirm("Keep the line", ".btn-secondary"),
            PaymentScreen.clickPaymentMethod("Cash"),
            CaisseAp.dialogSays("Did the terminal charge this payment?", "last receipt"),
            Dialog.cancel(),
            CaisseAp.clickRetry(),
            receiptThenNextOrder(),

            // Partial authorisation: the line takes the authorised amount, with a notice.
            newOrderToPay(),
            PaymentScreen.clickPaymentMethod(CARD),
            CaisseAp.noticeNotification("authorised only"),
            CaisseAp.lineIsDone(),
            PaymentScreen.remainingIs("0.99"),
            PaymentScreen.clickPaymentMethod(CARD),
            receiptThenNextOrder(),

            // 9. The neighbour's terminal is busy with another register's payment.
            newOrderToPay(),
            PaymentScreen.clickPaymentMethod(NEIGHBOUR),
            CaisseAp.dialogSays("The payment could not be started", "busy"),
            Dialog.confirm(),
            CaisseAp.lineStatusIs("Transaction cancelled"),
            CaisseAp.noPaymentInProgress(),
            PaymentScreen.clickPaymentlineDelButton(NEIGHBOUR, "1.98"),
            PaymentScreen.clickPaymentMethod("Cash"),
            PaymentScreen.clickValidate(),
            receiptThenNextOrder(),
            ProductScreen.isShown(),
        ].flat(2),
});
