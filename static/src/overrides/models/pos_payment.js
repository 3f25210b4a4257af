import { patch } from "@web/core/utils/patch";
import { PosPayment } from "@point_of_sale/app/models/pos_payment";
import { TERMINAL_KEY } from "@l10n_fr_pos_caisse_ap_ip/app/constants";
/** Line states in which the terminal may still be working on the payment. */
const RUNNING_STATUSES = ["waiting", "waitingCard", "waitingCancel", "timeout"];

/**
 * What a Caisse-AP line shows besides Odoo's payment status. Kept in the line's `uiState`, which
 * the POS saves with the order, so that a reloaded page still knows it.
 */
const CAISSE_AP_STATE = {
    /** The text under the line (what the terminal asks, why it stopped, ...). */
    caisseApNotice: "",
    /** The terminal's answer is unknown: the line offers Force done next to Retry. */
    caisseApUnknown: false,
    /** The Odoo server could not be reached while following the payment. */
    caisseApOffline: false,
    /** The start got no answer: the terminal may have the payment although Odoo cannot say. */
    caisseApUnconfirmed: false,
};

patch(PosPayment.prototype, {
    setup() {
        super.setup(...arguments);
        this.uiState = { ...CAISSE_AP_STATE, ...this.uiState };
    },

    setupState(state) {
        super.setupState({ ...CAISSE_AP_STATE, ...(typeof state === "object" ? state : {}) });
    },

    isCaisseAp() {
        return this.payment_method_id?.use_payment_terminal === TERMINAL_KEY;
    },

    /** True while the terminal may still be working on this line's payment. */
    isCaisseApRunning() {
        return this.isCaisseAp() && RUNNING_STATUSES.includes(this.get_payment_status());
    },

    setCaisseApNotice(text) {
        this.uiState.caisseApNotice = text || "";
    },

    setCaisseApUnknown(unknown) {
        this.uiState.caisseApUnknown = Boolean(unknown);
    },

    setCaisseApOffline(offline) {
        this.uiState.caisseApOffline = Boolean(offline);
    },

    setCaisseApUnconfirmed(unconfirmed) {
        this.uiState.caisseApUnconfirmed = Boolean(unconfirmed);
    },

    /** The terminal may have charged this line's payment although the line does not say so. */
    isCaisseApUncertain() {
        return (
            this.isCaisseAp() &&
            !this.is_done() &&
            Boolean(this.uiState.caisseApUnknown || this.uiState.caisseApUnconfirmed)
        );
    },
});
