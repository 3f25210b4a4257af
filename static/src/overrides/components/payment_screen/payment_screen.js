import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { PaymentScreen } from "@point_of_sale/app/screens/payment_screen/payment_screen";
import { TERMINAL_KEY } from "@l10n_fr_pos_caisse_ap_ip/overrides/models/pos_payment";

patch(PaymentScreen.prototype, {
    /**
     * The 18.0 payment screen sends every new terminal line at once. When the method's
     * "auto-send" option is off, the line is only added: the cashier may edit its amount (e.g. to
     * split the order across several cards) and sends it with the line's Send button.
     */
    async addNewPaymentLine(paymentMethod) {
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
        return super.deletePaymentLine(...arguments);
    },
});
