import { _t } from "@web/core/l10n/translation";
import { AlertDialog, ConfirmationDialog } from "@web/core/confirmation_dialog/confirmation_dialog";
import { ConnectionLostError, RPCError } from "@web/core/network/rpc";
import { Deferred } from "@web/core/utils/concurrency";
import { PaymentInterface } from "@point_of_sale/app/payment/payment_interface";
import { DEFAULT_TIMEOUT } from "@l10n_fr_pos_caisse_ap_ip/app/constants";
import {
    Waiters,
    isOlderAttempt,
    pollUntilFinal,
    startWithRetries,
    waitDeadline,
} from "@l10n_fr_pos_caisse_ap_ip/app/payment_wait";

const isConnectionLost = (error) => error instanceof ConnectionLostError;

/**
 * Caisse-AP over IP terminals (France). The browser cannot talk to the terminal: the Odoo server
 * does, in the background (see the RPCs `caisse_ap_start`, `caisse_ap_status`, `caisse_ap_cancel`
 * of pos.payment.method). The outcome comes back through the POS bus, with polling as a fallback.
 *
 * `send_payment_request` never rejects (a rejection would leave the payment screen's
 * `paymentTerminalInProgress` set forever); every problem is shown to the cashier in a dialog and
 * turned into a `false` result (line in "Retry") or, when the cashier says so, a forced success.
 */
export class PaymentCaisseApIp extends PaymentInterface {
    setup() {
        super.setup(...arguments);
        /** The payments being followed, each waiting for its final transaction dict. */
        this.waiters = new Waiters();
    }

    // ------------------------------------------------------------------------------------------
    // PaymentInterface API
    // ------------------------------------------------------------------------------------------

    async send_payment_request(uuid) {
        super.send_payment_request(uuid);
        const line = this._getLine(uuid);
        if (!line) {
            return false;
        }
        try {
            return await this._pay(line, { retry: line.uiState.caisseApUnknown });
        } catch (error) {
            // Programming errors must not leave the payment screen stuck.
            console.error(error);
            this._showError(_t("Unexpected error"), String(error?.message || error));
            return false;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Entry points used by the payment screen and the POS store
    // ------------------------------------------------------------------------------------------

    /** Asks the server to record a cancel request, and tells the cashier what to do. */
    async requestCancel(line) {
        if (!line.isCaisseApRunning()) {
            return;
        }
        line.set_payment_status("waitingCancel");
        try {
            const tx = await this._rpc("caisse_ap_cancel", [line.uuid]);
            this._deliver(tx);
        } catch (error) {
            if (line.get_payment_status() === "waitingCancel") {
                line.set_payment_status("waitingCard");
            }
            line.setCaisseApNotice("");
            this._showRpcError(error, _t("The cancel request could not be recorded"));
        }
    }

    /**
     * Follows a line that was running when the POS was (re)loaded, e.g. after a page reload
     * during a payment. The server knows the transaction by the payment uuid.
     */
    async resumeLine(line) {
        if (this.waiters.has(line.uuid)) {
            return;
        }
        let ok = false;
        try {
            let tx;
            try {
                tx = await this._rpc("caisse_ap_status", [line.uuid]);
            } catch (error) {
                if (error instanceof ConnectionLostError) {
                    tx = { payment_uuid: line.uuid, state: "sent", final: false };
                } else {
                    // Usually: the server has no transaction for this line, nothing was sent.
                    line.setCaisseApNotice(this._errorMessage(error));
                    line.set_payment_status("retry");
                    return;
                }
            }
            if (!tx.final) {
                line.set_payment_status(tx.cancel_requested ? "waitingCancel" : "waitingCard");
                line.setCaisseApNotice(_t("Payment resumed: waiting for the terminal's answer."));
            }
            ok = await this._follow(line, tx);
            if (ok === "retry") {
                ok = await this._pay(line, { retry: true });
            }
        } catch (error) {
            console.error(error);
            ok = false;
        }
        line.handle_payment_response(ok);
    }

    /**
     * The server's note on the POS bus that a payment changed. The channel is public (the
     * self-order page listens to it), so the note holds only the payment uuid, the attempt and
     * the state: the details come from the authenticated `caisse_ap_status`.
     */
    async onBusTransaction(note) {
        const waiter = note?.payment_uuid && this.waiters.get(note.payment_uuid);
        // A state this tab already heard of on its result channel needs no call.
        if (!waiter || isOlderAttempt(waiter, note) || waiter.state === note.state) {
            return;
        }
        try {
            const tx = await this._rpc("caisse_ap_status", [note.payment_uuid], { quiet: true });
            this._deliver(tx);
        } catch {
            // The polling keeps following the payment.
        }
    }

    /**
     * The transaction dict at each change, sent by the server on the result channel this tab
     * named when it started the payment (no other page knows it; the tabs of one browser share a
     * bus connection, so they hear each other's and ignore them): the dict `caisse_ap_status`
     * answers. News that comes before the start's answer is kept for the payment's waiter.
     */
    onCashierResult(tx) {
        if (!tx?.payment_uuid) {
            return;
        }
        if (tx.final || this.waiters.has(tx.payment_uuid)) {
            this._deliver(tx);
            return;
        }
        const line = this._getLine(tx.payment_uuid);
        if (line?.payment_method_id?.id === this.payment_method_id.id) {
            this.waiters.keepEarly(tx);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Payment flow
    // ------------------------------------------------------------------------------------------

    async _pay(line, { retry }) {
        for (;;) {
            if (!line.amount) {
                this._showError(
                    _t("Payment terminal"),
                    _t("The amount to send to the terminal must not be zero."),
                );
                return false;
            }
            line.setCaisseApNotice("");
            line.set_payment_status("waiting");
            let tx;
            try {
                tx = await this._start(line, retry);
            } catch (error) {
                if (error instanceof ConnectionLostError) {
                    // The start may have reached the server before the connection broke.
                    line.setCaisseApUnconfirmed(true);
                    line.setCaisseApNotice(
                        _t(
                            "Odoo could not confirm that the payment was started. Press Retry once the connection is back: Odoo then follows the payment if the terminal got it, and sends it otherwise.",
                        ),
                    );
                    this._showError(
                        _t("The payment could not be started"),
                        _t(
                            "The Odoo server cannot be reached. The terminal may have received the payment: do not take it again another way before pressing Retry on this line.",
                        ),
                    );
                } else {
                    // Kept on the line: why nothing was sent (terminal busy, no address...).
                    line.setCaisseApNotice(this._errorMessage(error));
                    this._showRpcError(error, _t("The payment could not be started"));
                }
                return false;
            }
            line.setCaisseApUnconfirmed(false);
            line.setCaisseApUnknown(false);
            if (!tx.final) {
                line.set_payment_status(tx.cancel_requested ? "waitingCancel" : "waitingCard");
                line.setCaisseApNotice(tx.message || "");
            }
            const outcome = await this._follow(line, tx);
            if (outcome !== "retry") {
                return outcome;
            }
            retry = true;
        }
    }

    /**
     * `caisse_ap_start`, sent again after network errors (a reply lost to a reset connection,
     * a server busy restarting). A repeat carries the first try's key: the server answers it
     * with the attempt the lost one started, however it ended, which the POS then follows as
     * after a reload.
     */
    async _start(line, retry) {
        // A "Retry" is repeated as a retry too: if the lost one started its attempt, the key
        // finds it; if it never reached the server, the repeat starts it.
        return startWithRetries(
            (startKey) => this._rpc("caisse_ap_start", [this._startData(line, retry, startKey)]),
            { isConnectionLost },
        );
    }

    _startData(line, retry, startKey) {
        const order = line.pos_order_id;
        return {
            start_key: startKey,
            payment_uuid: line.uuid,
            order_uuid: order.uuid,
            amount: line.amount,
            pos_session_id: this.pos.session.id,
            retry: Boolean(retry),
            refunded_order_ids: this._refundedOrderIds(order),
            result_channel: this.pos.caisseApResultChannel,
        };
    }

    /** The orders this one refunds: the server bounds a credit by their terminal payments. */
    _refundedOrderIds(order) {
        const ids = new Set();
        for (const orderLine of order.lines) {
            const refunded = orderLine.refunded_orderline_id?.order_id?.id;
            if (typeof refunded === "number") {
                ids.add(refunded);
            }
        }
        return [...ids];
    }

    /**
     * Waits for the final state of `tx` (bus or polling), then applies it to the line.
     * Resolves to true (paid), false (not paid, line in Retry) or "retry" (the cashier asked
     * to send the payment again after an unknown outcome).
     */
    async _follow(line, tx) {
        const final = tx.final ? tx : await this._waitFinal(line.uuid, tx);
        return this._applyOutcome(line, final);
    }

    _waitFinal(uuid, firstTx) {
        const [waiter, isNew] = this.waiters.open(uuid, firstTx.attempt, firstTx.state);
        if (isNew) {
            const early = this.waiters.takeEarly(uuid);
            if (early) {
                this._deliver(early);
            }
            this._poll(uuid, waiter);
        }
        return waiter;
    }

    /** Routes a transaction dict (from any source) to whoever waits for it. */
    _deliver(tx) {
        if (this.waiters.deliver(tx) !== "progress") {
            return;
        }
        const line = this._getLine(tx.payment_uuid);
        if (!line) {
            return;
        }
        if (tx.cancel_requested && line.get_payment_status() === "waitingCard") {
            line.set_payment_status("waitingCancel");
        }
        if (!line.uiState.caisseApOffline && tx.message) {
            line.setCaisseApNotice(tx.message);
        }
    }

    /** The polling fallback of the bus, until the outcome or the deadline. */
    _poll(uuid, waiter) {
        const localUnknown = (message) => ({
            payment_uuid: uuid,
            state: "unknown",
            final: true,
            local: true,
            message,
        });
        const now = Date.now();
        return pollUntilFinal(this.waiters, uuid, waiter, {
            status: () => this._rpc("caisse_ap_status", [uuid], { quiet: true }),
            // The bus brings the outcome: the status calls are then a rare safety net,
            // until the terminal should have answered.
            busUp: () => this.pos.bus?.workerState === "CONNECTED",
            lateAt: now + this._timeout() * 1000,
            onAnswer: (tx) => {
                const line = this._getLine(uuid);
                if (line?.uiState.caisseApOffline) {
                    line.setCaisseApOffline(false);
                    line.setCaisseApNotice(tx.message || "");
                }
                this._deliver(tx);
            },
            deadline: waitDeadline(now, this._timeout()),
            isConnectionLost,
            onOffline: () => {
                const line = this._getLine(uuid);
                line?.setCaisseApOffline(true);
                line?.setCaisseApNotice(
                    _t(
                        "The Odoo server cannot be reached: still waiting for the terminal's answer.",
                    ),
                );
            },
            giveUp: (error) =>
                localUnknown(
                    error
                        ? this._errorMessage(error)
                        : _t("The Odoo server did not report the terminal's answer in time."),
                ),
        });
    }

    async _applyOutcome(line, tx) {
        line.setCaisseApOffline(false);
        switch (tx.state) {
            case "success":
                this._applySuccess(line, tx);
                return true;
            case "failure":
                line.setCaisseApNotice(
                    tx.cancel_requested
                        ? _t("Payment cancelled on the terminal.")
                        : tx.message || _t("Payment declined."),
                );
                if (!tx.cancel_requested) {
                    this._showError(_t("Payment declined"), line.uiState.caisseApNotice);
                }
                return false;
            case "error":
                line.setCaisseApNotice(
                    tx.message || _t("The payment was not sent to the terminal."),
                );
                this._showError(_t("Payment not sent"), line.uiState.caisseApNotice);
                return false;
            default:
                return this._askUnknown(line, tx);
        }
    }

    _applySuccess(line, tx) {
        line.setCaisseApUnknown(false);
        if (tx.partial && tx.amount_authorised) {
            line.set_amount(tx.amount_authorised);
            line.setCaisseApAuthorised(tx.amount_authorised);
        }
        // What the ticket prints; the server writes the same fields from its journal (and the
        // line's transaction_id, the journal's reference) when the order reaches it.
        line.payment_method_authcode = tx.auth_code || "";
        line.card_type = tx.application_label || "";
        line.card_no = tx.card_last4 || "";
        line.payment_method_payment_mode = line.caisseApModeLabel() || tx.read_mode_label || "";
        if (typeof tx.receipt_text === "string" && tx.receipt_text) {
            line.set_receipt_info(tx.receipt_text);
        }
        // The server's notes: a partial amount, an approval despite a cancel request.
        line.setCaisseApNotice(tx.message || "");
        if (tx.message) {
            this.pos.notification.add(tx.message, {
                type: "warning",
                sticky: true,
                className: "o_caisse_ap_notice",
            });
        }
    }

    /**
     * The terminal's answer is unknown (no answer in time, unreadable answer, lost server):
     * the customer may or may not have paid. Only the cashier, looking at the terminal, can tell.
     */
    async _askUnknown(line, tx) {
        line.setCaisseApUnknown(true);
        line.setCaisseApNotice(
            _t("Outcome unknown: check the terminal, then choose Force done or Retry."),
        );
        // The server's message for "unknown" says what the dialog says; a local one says why.
        const reason = tx.local && tx.message ? `\n\n${tx.message}` : "";
        const choice = new Deferred();
        this.pos.dialog.add(
            ConfirmationDialog,
            {
                title: _t("Payment outcome unknown"),
                body:
                    _t(
                        "The terminal's answer did not reach Odoo. Check the terminal screen or its receipt: if the payment was accepted, choose Force done; if it was not, choose Retry to send it again.",
                    ) + reason,
                confirmLabel: _t("Force done"),
                confirm: () => choice.resolve("force"),
                cancelLabel: _t("Retry"),
                cancel: () => choice.resolve("retry"),
                dismiss: () => choice.resolve("later"),
            },
            { onClose: () => choice.resolve("later") },
        );
        const answer = await choice;
        if (answer === "force") {
            this.forceDone(line);
            return true;
        }
        return answer === "retry" ? "retry" : false;
    }

    /** The cashier saw the payment accepted on the terminal although Odoo got no answer. */
    forceDone(line) {
        line.setCaisseApUnknown(false);
        line.setCaisseApNotice(_t("Marked as paid by the cashier (terminal outcome unknown)."));
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    _getLine(uuid) {
        return this.pos.models["pos.payment"].find((line) => line.uuid === uuid);
    }

    _timeout() {
        const value = Number(this.payment_method_id.fr_caisse_ap_ip_timeout);
        return value > 0 ? value : DEFAULT_TIMEOUT;
    }

    /**
     * Calls an RPC of this payment method. `quiet` calls (the status polling, the bus notes)
     * bypass the POS data service so that its "loading" indicator does not blink all along the
     * payment; they still fail at once when the POS knows it is offline.
     */
    async _rpc(method, args, { quiet = false } = {}) {
        const params = ["pos.payment.method", method, [[this.payment_method_id.id], ...args]];
        if (!quiet) {
            return this.pos.data.call(...params);
        }
        if (this.pos.data.network.offline) {
            throw new ConnectionLostError("/web/dataset/call_kw");
        }
        return this.env.services.orm.silent.call(...params);
    }

    _errorMessage(error) {
        if (error instanceof ConnectionLostError) {
            return _t(
                "The Odoo server cannot be reached. Check the network connection, then try again.",
            );
        }
        if (error instanceof RPCError) {
            return error.data?.message || error.message;
        }
        return String(error?.message || error);
    }

    _showRpcError(error, title) {
        this._showError(title, this._errorMessage(error));
    }

    _showError(title, body) {
        this.pos.dialog.add(AlertDialog, { title, body });
    }
}
