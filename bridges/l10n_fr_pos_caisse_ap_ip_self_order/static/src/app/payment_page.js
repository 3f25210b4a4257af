import { onWillUnmount } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { ConnectionLostError, rpc } from "@web/core/network/rpc";
import { patch } from "@web/core/utils/patch";
import { PaymentPage } from "@pos_self_order/app/pages/payment_page/payment_page";
import { startWithRetries } from "@l10n_fr_pos_caisse_ap_ip/app/payment_wait";
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
        // Odoo's own version ends with updateOrderFromServer(), which calls a
        // method the kiosk's order does not have in 18.0: every payment would
        // look failed. The order is on the server already; nothing to update.
        const selfOrder = this.selfOrder;
        const order = selfOrder.currentOrder;
        selfOrder.paymentError = false;
        if (order.access_token) {
            selfOrder.caisseApBegin(order.access_token); // before: the note may be quick
        }
        const request = {
            order: order.serialize({ orm: true }),
            access_token: selfOrder.access_token,
            payment_method_id: this.state.paymentMethodId,
        };
        try {
            // Sent again after a network error, as the tills do: the server
            // knows the order's payment and the request's key, so a repeat
            // never asks the terminal again.
            const result = await startWithRetries(
                (startKey) =>
                    rpc(`/kiosk/payment/${selfOrder.config.id}/kiosk`, {
                        ...request,
                        caisse_ap_start_key: startKey,
                    }),
                { isConnectionLost: (error) => error instanceof ConnectionLostError },
            );
            if (!order.access_token) {
                selfOrder.caisseApBegin(result.order[0].access_token);
                await selfOrder.caisseApPoll();
            }
        } catch (error) {
            // Refused (the server said why), or the network kept failing: a
            // new try finds the payment already under way, or answers paid.
            selfOrder.caisseApEnd();
            selfOrder.handleErrorNotification(error);
            selfOrder.paymentError = true;
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
