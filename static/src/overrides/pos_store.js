import { patch } from "@web/core/utils/patch";
import { PosStore } from "@point_of_sale/app/store/pos_store";
import { TERMINAL_KEY } from "@l10n_fr_pos_caisse_ap_ip/app/constants";
import { randomHex } from "@l10n_fr_pos_caisse_ap_ip/app/payment_wait";

/** A bus channel name nobody can guess. */
function newResultChannel() {
    return `l10n_fr_pos_caisse_ap_ip.result.${randomHex()}`;
}

patch(PosStore.prototype, {
    async setup() {
        await super.setup(...arguments);
        this.onNotified("CAISSE_AP_TRANSACTION", (tx) => {
            for (const terminal of this.caisseApTerminals()) {
                terminal.onBusTransaction(tx);
            }
        });
        // Each change, whole, on a channel only this tab knows: no status call needed.
        this.caisseApResultChannel = newResultChannel();
        this.bus.addChannel(this.caisseApResultChannel);
        this.bus.subscribe("CAISSE_AP_RESULT", (tx) => {
            for (const terminal of this.caisseApTerminals()) {
                terminal.onCashierResult(tx);
            }
        });
        this.resumeCaisseApPayments();
    },

    /** The payment interfaces of the Caisse-AP methods of this POS. */
    caisseApTerminals() {
        return this.models["pos.payment.method"]
            .filter((pm) => pm.use_payment_terminal === TERMINAL_KEY && pm.payment_terminal)
            .map((pm) => pm.payment_terminal);
    },

    /** Lines left running by a previous page (reload during a payment) are followed again. */
    resumeCaisseApPayments() {
        for (const line of this.models["pos.payment"].getAll()) {
            if (
                line.isCaisseApRunning() &&
                line.payment_method_id.payment_terminal &&
                !line.pos_order_id?.finalized
            ) {
                line.payment_method_id.payment_terminal.resumeLine(line);
            }
        }
    },
});
