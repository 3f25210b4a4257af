import { onWillUnmount } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { patch } from "@web/core/utils/patch";
import { PaymentPage } from "@pos_self_order/app/pages/payment_page/payment_page";
import { RETRY_OUTCOMES, STATUS_POLL_MS, TERMINAL_KEY } from "./constants";

patch(PaymentPage.prototype, {
    setup() {
        super.setup(...arguments);
        this.caisseApTimer = null;
        onWillUnmount(() => {
            this.caisseApStopPolling();
            this.selfOrder.caisseApEnd();
        });
    },

    get isCaisseAp() {
        return this.selectedPaymentMethod?.use_payment_terminal === TERMINAL_KEY;
    },

    get caisseApMayRetry() {
        return !this.isCaisseAp || RETRY_OUTCOMES.includes(this.selfOrder.caisseAp.outcome);
    },

    async startPayment() {
        if (!this.isCaisseAp) {
            return super.startPayment(...arguments);
        }
        const order = this.selfOrder.currentOrder;
        this.selfOrder.caisseApBegin(order.access_token);
        await super.startPayment(...arguments);
        if (this.selfOrder.paymentError && this.selfOrder.caisseAp.outcome === "waiting") {
            // Refused before the terminal was asked: the server said why.
            this.selfOrder.caisseApEnd();
            return;
        }
        this.caisseApStartPolling();
    },

    caisseApStartPolling() {
        this.caisseApStopPolling();
        this.caisseApTimer = browser.setInterval(async () => {
            if (this.selfOrder.caisseAp.outcome !== "waiting") {
                this.caisseApStopPolling();
                return;
            }
            try {
                await this.selfOrder.caisseApPoll();
            } catch {
                // The network is down: the next poll or the bus will tell.
            }
        }, STATUS_POLL_MS);
    },

    caisseApStopPolling() {
        browser.clearInterval(this.caisseApTimer);
        this.caisseApTimer = null;
    },
});
