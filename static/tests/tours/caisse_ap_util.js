/* global posmodel */
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import { ConnectionLostError } from "@web/core/network/rpc";
import { negate } from "@point_of_sale/../tests/tours/utils/common";

/** Reusable steps for the Caisse-AP payment lines. */

/**
 * How long a step waits for the terminal's outcome to reach the line (ms). The bus brings it
 * within a second; a note the bus loses is brought by the POS's status poll, which runs every
 * 6 s (± 30 %) while the bus is up: up to 8 s late, longer than a tour step's usual 10 s after
 * a customer who takes 6 s.
 */
const OUTCOME_TIMEOUT = 20000;

export function lineStatusIs(text) {
    return {
        content: `the selected terminal line says "${text}"`,
        trigger: `.paymentlines .paymentline.electronic_payment .electronic_status:contains("${text}")`,
        timeout: OUTCOME_TIMEOUT,
    };
}

/**
 * `selector`, found even while it fades in. Odoo's tour runner looks again only when the DOM
 * changes, and skips elements whose opacity is 0: one checked at the start of its fade-in is
 * never seen, since the fade ends without a DOM change. A trigger that mentions ":visible" is
 * matched as written, so the list names a selector that matches nothing.
 */
function present(selector) {
    return `${selector}, .o_caisse_ap_tour_never:visible`;
}

export function noticeContains(text) {
    return {
        content: `the line notice contains "${text}"`,
        trigger: present(`.paymentlines .caisse_ap_notice:contains("${text}")`),
        timeout: OUTCOME_TIMEOUT,
    };
}

export function clickRetry() {
    return [
        lineStatusIs("Transaction cancelled"),
        {
            content: "click Retry on the terminal line",
            trigger: ".paymentline.electronic_payment .send_payment_request:contains('Retry')",
            run: "click",
        },
    ];
}

export function clickLineForceDone() {
    return {
        content: "click Force done on the terminal line",
        trigger: ".paymentline.electronic_payment .caisse_ap_force_done",
        run: "click",
    };
}

export function clickSend() {
    return [
        lineStatusIs("Payment request pending"),
        {
            content: "click Send on the terminal line",
            trigger: ".paymentline.electronic_payment .send_payment_request:contains('Send')",
            run: "click",
        },
    ];
}

export function clickCancel() {
    return [
        {
            content: "click Cancel on the terminal line while the customer pays",
            trigger: ".paymentline.electronic_payment .send_payment_cancel",
            run: "click",
        },
        noticeContains("Press the red button on the terminal"),
    ];
}

export function waitingForCard() {
    return [
        lineStatusIs("Waiting for card"),
        noticeContains("Waiting for the customer on the terminal"),
    ];
}

export function lineIsDone() {
    return lineStatusIs("Payment Successful");
}

export function dialogSays(title, text) {
    return [
        Dialog.is({ title }),
        {
            content: `the dialog says "${text}"`,
            trigger: `.modal .modal-body:contains("${text}")`,
        },
    ];
}

export function declinedDialog(reason) {
    return [...dialogSays("Payment declined", reason), Dialog.confirm()];
}

export function unknownDialog(choice) {
    const button = choice === "Force done" ? ".btn-primary" : ".btn-secondary";
    return [
        ...dialogSays("Payment outcome unknown", "Check the terminal"),
        {
            content: `the cashier chooses ${choice}`,
            trigger: `.modal .modal-footer ${button}:contains("${choice}")`,
            run: "click",
        },
    ];
}

export function noPaymentInProgress() {
    return [
        {
            content: "no payment terminal is left in progress",
            trigger: "body",
            run: () => {
                if (posmodel.paymentTerminalInProgress) {
                    throw new Error("paymentTerminalInProgress is still set");
                }
            },
        },
        {
            content: "no error dialog is open",
            trigger: negate(".o_error_dialog"),
        },
    ];
}

export function receiptHasTerminalTicket(text) {
    return [
        {
            content: `the receipt shows the terminal's ticket "${text}"`,
            trigger: `.receipt-screen .pos-payment-terminal-receipt:contains("${text}")`,
        },
        {
            content: "no terminal ticket reads 'false'",
            trigger: negate(".pos-payment-terminal-receipt:contains('false')", ".receipt-screen"),
        },
        {
            content: "no terminal ticket reads 'undefined'",
            trigger: negate(
                ".pos-payment-terminal-receipt:contains('undefined')",
                ".receipt-screen",
            ),
        },
    ];
}

export function noticeNotification(text) {
    return {
        content: `a notification says "${text}"`,
        trigger: present(`.o_notification.o_caisse_ap_notice:contains("${text}")`),
        timeout: OUTCOME_TIMEOUT,
    };
}

/** Cuts (or restores) the POS's connection to the Odoo server, as the POS sees it. */
export function setOffline(offline) {
    return {
        content: offline ? "the POS loses the Odoo server" : "the POS reaches the server again",
        trigger: "body",
        run: () => {
            if (offline) {
                posmodel.data.network.offline = true;
            } else {
                window.dispatchEvent(new Event("online"));
            }
        },
    };
}

/**
 * The next `count` replies to `caisse_ap_start` of the payment method `name` are lost on the way
 * back, as when a connection is reset after the server took the request (0: restore).
 */
export function loseStartReplies(name, count) {
    return loseStarts(name, count, { beforeServer: false });
}

/** The next `count` `caisse_ap_start` of the payment method `name` never reach the server. */
export function loseStartRequests(name, count) {
    return loseStarts(name, count, { beforeServer: true });
}

function loseStarts(name, count, { beforeServer }) {
    const lostPart = beforeServer ? "requests" : "replies";
    return {
        content: `lose the next ${count} ${lostPart} of caisse_ap_start of ${name}`,
        trigger: "body",
        run: () => {
            const terminal = posmodel.models["pos.payment.method"].find(
                (method) => method.name === name,
            ).payment_terminal;
            terminal._caisseApRealRpc ||= terminal._rpc;
            let lost = count;
            terminal._rpc = async function (method, ...args) {
                const lose = method === "caisse_ap_start" && lost > 0;
                if (lose) {
                    lost--;
                }
                if (lose && beforeServer) {
                    throw new ConnectionLostError("/web/dataset/call_kw");
                }
                const result = await this._caisseApRealRpc(method, ...args);
                if (lose) {
                    throw new ConnectionLostError("/web/dataset/call_kw");
                }
                return result;
            };
        },
    };
}
