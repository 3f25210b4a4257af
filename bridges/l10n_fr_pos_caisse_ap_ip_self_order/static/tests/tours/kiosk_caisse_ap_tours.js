import { registry } from "@web/core/registry";
import { ConnectionLostError, rpc } from "@web/core/network/rpc";
import * as Utils from "@pos_self_order/../tests/tours/utils/common";
import * as ConfirmationPage from "@pos_self_order/../tests/tours/utils/confirmation_page_util";
import * as ProductPage from "@pos_self_order/../tests/tours/utils/product_page_util";
import { screenshot } from "@l10n_fr_pos_caisse_ap_ip/../tests/tours/screenshot_util";

// The terminal answers after a second; a relay adds its poll.
const OUTCOME_TIMEOUT = 20000;

function orderAColaAndPay(beforePay = []) {
    return [
        Utils.clickBtn("Order Now"),
        ProductPage.clickProduct("Coca-Cola"),
        Utils.clickBtn("Order"),
        ...beforePay,
        Utils.clickBtn("Pay"),
        {
            content: "the kiosk asks the customer to use the terminal",
            trigger: "h1:contains('Follow instructions on the terminal')",
        },
    ];
}

function outcomeShown(outcome, text) {
    return {
        content: `the customer reads the outcome: ${outcome}`,
        trigger: `.o_caisse_ap_kiosk_message[data-outcome='${outcome}']:contains('${text}')`,
        timeout: OUTCOME_TIMEOUT,
    };
}

registry.category("web_tour.tours").add("CaisseApKioskRefusedThenApproved", {
    steps: () => [
        ...orderAColaAndPay(),
        outcomeShown("refused", "Forbidden"),
        Utils.clickBtn("Retry"),
        { ...ConfirmationPage.isShown(), timeout: OUTCOME_TIMEOUT },
    ],
});

/**
 * The kiosk's next payment requests meet the network's faults, in this order: "reset" (never
 * reaches Odoo), "lost" (Odoo takes it, its reply is lost); the requests after go through.
 */
function networkFaultsOnPayment(...faults) {
    return {
        content: `the kiosk's payment requests meet: ${faults.join(", ")}`,
        trigger: "body",
        run: () => {
            const realRpc = rpc._rpc;
            const left = [...faults];
            rpc._rpc = async function (url, ...args) {
                const fault = url.startsWith("/kiosk/payment/") ? left.shift() : undefined;
                if (!left.length) {
                    rpc._rpc = realRpc;
                }
                if (fault === "reset") {
                    throw new ConnectionLostError(url);
                }
                const result = await realRpc.call(this, url, ...args);
                if (fault === "lost") {
                    throw new ConnectionLostError(url);
                }
                return result;
            };
        },
    };
}

registry.category("web_tour.tours").add("CaisseApKioskStartRepeatedAfterNetworkFaults", {
    steps: () => [
        ...orderAColaAndPay([networkFaultsOnPayment("reset", "lost")]),
        { ...ConfirmationPage.isShown(), timeout: OUTCOME_TIMEOUT },
    ],
});

registry.category("web_tour.tours").add("CaisseApKioskUnknownSeesStaff", {
    steps: () => [
        ...orderAColaAndPay(),
        outcomeShown("staff", "do not pay again"),
        Utils.checkIsNoBtn("Retry"),
        Utils.checkBtn("Back"),
    ],
});

// The README's screenshots: a refusal, then the customer paying.
registry.category("web_tour.tours").add("CaisseApKioskScreenshots", {
    steps: () => [
        ...orderAColaAndPay(),
        outcomeShown("refused", "Forbidden"),
        ...screenshot("screenshot_kiosk_refused"),
        Utils.clickBtn("Retry"),
        {
            content: "the terminal waits for the card",
            trigger: "h1:contains('Follow instructions on the terminal')",
        },
        ...screenshot("screenshot_kiosk_payment"),
        { ...ConfirmationPage.isShown(), timeout: OUTCOME_TIMEOUT },
    ],
});
