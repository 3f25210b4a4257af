import { onMounted } from "@odoo/owl";
import { patch } from "@web/core/utils/patch";
import { ClosePosPopup } from "@point_of_sale/app/navbar/closing_popup/closing_popup";

/**
 * The closing screen shows, for each Caisse-AP method, what the terminal approved against what
 * the POS recorded, and first the journal entries that need attention (see pos.session
 * `get_closing_control_data`). Closing follows Odoo's rules: nothing here blocks it.
 */
patch(ClosePosPopup, {
    props: [...ClosePosPopup.props, "caisse_ap?"],
});

patch(ClosePosPopup.prototype, {
    setup() {
        super.setup(...arguments);
        onMounted(() => this.caisseApRecordItemsShown());
    },

    get caisseApItems() {
        return this.props.caisse_ap?.items || [];
    },

    get caisseApMethods() {
        return this.props.caisse_ap?.methods || [];
    },

    caisseApItemSummary(item) {
        return ` ${item.payment_method}, ${this.env.utils.formatCurrency(item.amount)} (${item.state}): `;
    },

    caisseApItemUrl(item) {
        return `/odoo/action-${this.props.caisse_ap.journal_action}/${item.id}`;
    },

    /** The session's chatter keeps that the cashier was shown these entries. */
    async caisseApRecordItemsShown() {
        const ids = this.caisseApItems.map((item) => item.id);
        if (!ids.length) {
            return;
        }
        try {
            await this.pos.data.call("pos.session", "caisse_ap_closing_items_shown", [
                this.pos.session.id,
                ids,
            ]);
        } catch (error) {
            // Offline: the entries stay in the journal's "to review" list anyway.
            console.warn("Caisse-AP: could not record the items shown at closing", error);
        }
    },
});
