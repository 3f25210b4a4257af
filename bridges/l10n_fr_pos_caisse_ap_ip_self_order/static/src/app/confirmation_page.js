import { onWillStart } from "@odoo/owl";
import { patch } from "@web/core/utils/patch";
import { ConfirmationPage } from "@pos_self_order/app/pages/confirmation_page/confirmation_page";

// The kiosk prints the paid order's ticket half a second after the page shows,
// from the order the page loads when it starts; Odoo does not wait for that
// load, so a server slower than half a second (a busy hour) prints nothing
// and logs an error. The page now shows once its order is loaded.
patch(ConfirmationPage.prototype, {
    setup() {
        super.setup(...arguments);
        // A failed load stays Odoo's to report, as before.
        onWillStart(() => this.caisseApOrderLoaded?.catch(() => {}));
    },

    initOrder() {
        this.caisseApOrderLoaded = super.initOrder(...arguments);
        return this.caisseApOrderLoaded;
    },
});
