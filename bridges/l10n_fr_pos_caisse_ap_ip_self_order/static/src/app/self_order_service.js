import { patch } from "@web/core/utils/patch";
import { rpc } from "@web/core/network/rpc";
import { _t } from "@web/core/l10n/translation";
import { SelfOrder } from "@pos_self_order/app/self_order_service";
import { getOnNotified } from "@point_of_sale/utils";
import { TERMINAL_KEY } from "./constants";

patch(SelfOrder.prototype, {
    async setup(...args) {
        await super.setup(...args);
        // The kiosk's Caisse-AP payment in progress: which order, what to show.
        this.caisseAp = { orderAccessToken: null, outcome: null, message: "" };
        this.caisseApChannels = new Set();
    },

    filterPaymentMethods(pms) {
        const methods = super.filterPaymentMethods(...arguments);
        const caisseAp = pms.filter((pm) => pm.use_payment_terminal === TERMINAL_KEY);
        return [...new Set([...methods, ...caisseAp])];
    },

    caisseApBegin(orderAccessToken) {
        // The outcome comes on the order's own channel: no other kiosk hears it.
        if (!this.caisseApChannels.has(orderAccessToken)) {
            this.caisseApChannels.add(orderAccessToken);
            getOnNotified(this.bus, orderAccessToken)("PAYMENT_STATUS", (payload) =>
                this.caisseApOnStatus(payload),
            );
        }
        Object.assign(this.caisseAp, { orderAccessToken, outcome: "waiting", message: "" });
    },

    caisseApEnd() {
        Object.assign(this.caisseAp, { orderAccessToken: null, outcome: null, message: "" });
    },

    caisseApOnStatus({ payment_result, data, caisse_ap: status }) {
        if (!status || status.order_access_token !== this.caisseAp.orderAccessToken) {
            return; // another payment, or one this kiosk no longer waits for
        }
        Object.assign(this.caisseAp, { outcome: status.outcome, message: status.message });
        if (payment_result === "Success") {
            this.models.loadData(data);
            this.caisseApEnd();
            this.notification.add(_t("Your order has been paid"), { type: "success" });
            this.confirmationPage(
                "order",
                this.config.self_ordering_mode,
                status.order_access_token,
            );
        } else if (status.final) {
            this.paymentError = true;
        }
    },

    async caisseApPoll() {
        const orderAccessToken = this.caisseAp.orderAccessToken;
        if (!orderAccessToken) {
            return;
        }
        const status = await rpc(`/kiosk/caisse_ap/status/${this.config.id}`, {
            access_token: this.access_token,
            order_access_token: orderAccessToken,
        });
        this.caisseApOnStatus(status);
    },
});
