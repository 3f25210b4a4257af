import { _t } from "@web/core/l10n/translation";
import { ConfirmationDialog } from "@web/core/confirmation_dialog/confirmation_dialog";
import { Deferred } from "@web/core/utils/concurrency";
import { patch } from "@web/core/utils/patch";
import { PaymentScreen } from "@point_of_sale/app/screens/payment_screen/payment_screen";

/**
 * A kiosk order the till takes over may have a card payment whose outcome never reached Odoo:
 * the customer may have paid. Before anything else is taken, the cashier looks at the terminal
 * and says what it shows; the server books it (paid) or lets the till take a payment (not paid).
 */
patch(PaymentScreen.prototype, {
    /** Asked first: a single terminal method would otherwise start a payment at once. */
    onMounted() {
        const order = this.pos.get_order();
        if (typeof order?.id !== "number" || !order.pos_reference?.includes("Kiosk")) {
            return super.onMounted(...arguments);
        }
        this.settleCaisseApKioskPayments(order).then(
            (stillDue) => stillDue && super.onMounted(...arguments),
            (error) => {
                super.onMounted(...arguments);
                throw error;
            },
        );
    },

    /** Returns false when the order got paid and left the screen. */
    async settleCaisseApKioskPayments(order) {
        const unsettled = await this.pos.data.call("pos.order", "caisse_ap_kiosk_unsettled", [
            [order.id],
        ]);
        for (const payment of unsettled) {
            const answer = await this.askCaisseApKioskOutcome(payment);
            if (answer === "later") {
                return true;
            }
            const result = await this.pos.data.call("pos.order", "caisse_ap_kiosk_settle", [
                [order.id],
                payment.id,
                answer === "paid",
            ]);
            await this.pos.loadServerOrders([["id", "=", order.id]]);
            if (result.state !== "draft") {
                this.notification.add(
                    _t("Order %s is paid: the kiosk payment was booked.", order.pos_reference),
                    { type: "success" },
                );
                this.pos.removeOrder(order, false);
                this.pos.add_new_order();
                this.pos.showScreen("ProductScreen");
                return false;
            }
        }
        return true;
    },

    askCaisseApKioskOutcome(payment) {
        const choice = new Deferred();
        this.dialog.add(
            ConfirmationDialog,
            {
                title: _t("Kiosk payment outcome unknown"),
                body: _t(
                    "At the kiosk, the customer's card payment of %(amount)s (%(method)s, %(date)s) got no answer from the terminal: the customer may have paid. Check the terminal's receipt or its last transactions. Was it paid?",
                    {
                        amount: payment.amount_text,
                        method: payment.payment_method,
                        date: payment.started_at,
                    },
                ),
                confirmLabel: _t("Paid on the terminal"),
                confirm: () => choice.resolve("paid"),
                cancelLabel: _t("Not paid"),
                cancel: () => choice.resolve("not_paid"),
                dismiss: () => choice.resolve("later"),
            },
            { onClose: () => choice.resolve("later") },
        );
        return choice;
    },
});
