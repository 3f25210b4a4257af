import { _t } from "@web/core/l10n/translation";
import { ConfirmationDialog } from "@web/core/confirmation_dialog/confirmation_dialog";
import { Deferred } from "@web/core/utils/concurrency";
import { patch } from "@web/core/utils/patch";
import { PaymentScreen } from "@point_of_sale/app/screens/payment_screen/payment_screen";
import { TERMINAL_KEY } from "@l10n_fr_pos_caisse_ap_ip/app/constants";

patch(PaymentScreen.prototype, {
    /**
     * The 18.0 payment screen sends every new terminal line at once. When the method's
     * "auto-send" option is off, the line is only added: the cashier may edit its amount (e.g. to
     * split the order across several cards) and sends it with the line's Send button.
     */
    async addNewPaymentLine(paymentMethod) {
        const uncertain = this.paymentLines.find((line) => line.isCaisseApUncertain());
        if (uncertain && !(await this.confirmCaisseApNotCharged(uncertain))) {
            return false;
        }
        const manual =
            paymentMethod.use_payment_terminal === TERMINAL_KEY &&
            paymentMethod.fr_caisse_ap_ip_fast_payment === false;
        if (!manual) {
            return super.addNewPaymentLine(...arguments);
        }
        this.caisseApHoldSend = true;
        try {
            return await super.addNewPaymentLine(...arguments);
        } finally {
            this.caisseApHoldSend = false;
        }
    },

    async sendPaymentRequest(line) {
        if (this.caisseApHoldSend && line?.isCaisseAp()) {
            return;
        }
        return super.sendPaymentRequest(...arguments);
    },

    /** Cancelling asks for the red button; the line ends with the terminal's answer. */
    async sendPaymentCancel(line) {
        if (!line?.isCaisseAp()) {
            return super.sendPaymentCancel(...arguments);
        }
        await line.payment_method_id.payment_terminal.requestCancel(line);
    },

    sendForceDone(line) {
        if (line?.isCaisseAp()) {
            line.payment_method_id.payment_terminal.forceDone(line);
        }
        return super.sendForceDone(...arguments);
    },

    /** A line whose payment runs on the terminal is never dropped: it is cancelled first. */
    deletePaymentLine(uuid) {
        const line = this.paymentLines.find((line) => line.uuid === uuid);
        if (line?.isCaisseApRunning()) {
            this.notification.add(
                _t(
                    "This payment is running on the terminal: it must be cancelled there before the line can be deleted.",
                ),
                { type: "warning" },
            );
            line.payment_method_id.payment_terminal.requestCancel(line);
            return;
        }
        if (line?.isCaisseApUncertain()) {
            return this.confirmCaisseApNotCharged(line).then(
                (notCharged) => notCharged && super.deletePaymentLine(uuid),
            );
        }
        return super.deletePaymentLine(...arguments);
    },

    /**
     * A line whose payment the terminal may have taken (outcome unknown, or a start that got no
     * answer) is replaced by another payment only once the cashier says the terminal did not
     * charge it: otherwise the customer could pay twice. Resolves to true when confirmed.
     */
    async confirmCaisseApNotCharged(line) {
        const answer = new Deferred();
        this.dialog.add(
            ConfirmationDialog,
            {
                title: _t("Did the terminal charge this payment?"),
                body: _t(
                    "Odoo does not know whether the terminal took the payment of %(amount)s. Check the terminal screen or its last receipt. Take the payment again another way only if the customer was not charged; otherwise choose Force done or Retry on the line.",
                    { amount: this.env.utils.formatCurrency(line.amount) },
                ),
                confirmLabel: _t("Not charged"),
                confirm: () => answer.resolve(true),
                cancelLabel: _t("Keep the line"),
                cancel: () => answer.resolve(false),
                dismiss: () => answer.resolve(false),
            },
            { onClose: () => answer.resolve(false) },
        );
        const notCharged = await answer;
        if (notCharged) {
            line.setCaisseApUnknown(false);
            line.setCaisseApUnconfirmed(false);
        }
        return notCharged;
    },
});
