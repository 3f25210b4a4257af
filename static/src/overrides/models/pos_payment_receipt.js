import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { PosPayment } from "@point_of_sale/app/models/pos_payment";
import { formatCurrency } from "@point_of_sale/app/models/utils/currency";

/**
 * The short block printed on the customer's ticket under an approved Caisse-AP line, unless the
 * terminal sent its own receipt (Odoo prints the line's `ticket` then). Never more of the card
 * than its last 4 digits; empty values are left out.
 */
patch(PosPayment.prototype, {
    /** "Check" or "ANCV holiday vouchers" for those methods, "" for cards. */
    caisseApModeLabel() {
        const mode = this.payment_method_id?.fr_caisse_ap_ip_mode;
        if (mode === "check") {
            return _t("Check");
        }
        return mode === "ancv" ? _t("ANCV holiday vouchers") : "";
    },

    /** A partial authorisation: the amount the terminal authorised (kept with the order). */
    setCaisseApAuthorised(amount) {
        this.uiState.caisseApAuthorised = amount || 0;
    },

    caisseApReceiptLines() {
        if (!this.isCaisseAp() || this.get_payment_status() !== "done" || this.ticket) {
            return [];
        }
        const lines = [];
        const modeLabel = this.caisseApModeLabel();
        if (modeLabel) {
            lines.push(modeLabel);
        } else {
            lines.push(
                [this.card_type, this.payment_method_payment_mode].filter(Boolean).join(" · "),
            );
            if (this.card_no) {
                lines.push(_t("Card: **** %(digits)s", { digits: this.card_no.slice(-4) }));
            }
        }
        if (this.payment_method_authcode) {
            lines.push(_t("Authorisation: %(code)s", { code: this.payment_method_authcode }));
        }
        if (this.uiState?.caisseApAuthorised) {
            lines.push(
                _t("Partial authorisation: %(amount)s authorised", {
                    amount: formatCurrency(
                        this.uiState.caisseApAuthorised,
                        this.pos_order_id.currency,
                    ),
                }),
            );
        }
        return lines.filter(Boolean);
    },

    export_for_printing() {
        const data = super.export_for_printing(...arguments);
        const lines = this.caisseApReceiptLines();
        if (lines.length) {
            data.caisseApLines = lines;
        }
        return data;
    },
});
