/**
 * How the POS waits for a payment's outcome, apart from the POS itself so that it can be unit
 * tested: one waiter per payment, news about older attempts ignored, polling as a fallback of
 * the bus with a deadline, and the start sent again after network errors. Time, randomness and
 * the server are given by the caller.
 */
import { Deferred, delay } from "@web/core/utils/concurrency";
import {
    BUS_POLL_INTERVAL,
    DEADLINE_MARGIN,
    MAX_SERVER_ERRORS,
    POLL_INTERVAL,
    START_RETRY_DELAYS,
} from "@l10n_fr_pos_caisse_ap_ip/app/constants";

/** 128 random bits in hex, that nobody can guess (getRandomValues works on plain http too). */
export function randomHex() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** `ms` within ±30 %: tills started together do not poll (or retry) in step. */
export function jittered(ms, random = Math.random) {
    return ms * (0.7 + 0.6 * random());
}

/** True when `tx` is news about an attempt older than the one `waiter` follows. */
export function isOlderAttempt(waiter, tx) {
    return Boolean(waiter.attempt && tx.attempt && tx.attempt < waiter.attempt);
}

/** Milliseconds (on the `now` clock) past which the POS stops waiting for the server. */
export function waitDeadline(now, timeoutSeconds) {
    return now + (timeoutSeconds + DEADLINE_MARGIN) * 1000;
}

/**
 * Milliseconds until the next status call. While the bus can be relied on and the outcome is
 * not late, BUS_POLL_INTERVAL, but one call falls at `lateAt` (the moment the terminal should
 * have answered); otherwise POLL_INTERVAL. Jittered, so that tills do not call in step.
 */
export function nextPollDelay(relyOnBus, now, lateAt, random = Math.random) {
    if (!relyOnBus || now >= lateAt) {
        return jittered(POLL_INTERVAL, random);
    }
    return Math.min(jittered(BUS_POLL_INTERVAL, random), lateAt - now);
}

/**
 * One waiter per payment uuid: a Deferred resolved (once) with the final transaction dict of
 * the attempt it follows, whichever source brings it first (bus, result channel, polling). Its
 * `state` is the latest state heard of that attempt.
 */
export class Waiters {
    constructor() {
        this._byUuid = new Map();
        // News of payments whose start has not answered yet: the server often records that the
        // terminal has the request before the start's answer reaches the POS.
        this._early = new Map();
    }

    get(uuid) {
        return this._byUuid.get(uuid);
    }

    has(uuid) {
        return this._byUuid.has(uuid);
    }

    /**
     * The waiter of `uuid`, made for `attempt` in `state` when there is none: `[waiter, isNew]`.
     * News kept for it by `keepEarly` is then `deliver`ed by the caller (see `takeEarly`).
     */
    open(uuid, attempt, state) {
        const existing = this._byUuid.get(uuid);
        if (existing) {
            return [existing, false];
        }
        const waiter = new Deferred();
        waiter.attempt = attempt;
        waiter.state = state;
        this._byUuid.set(uuid, waiter);
        return [waiter, true];
    }

    /** Keeps `tx`, news of a payment not followed yet, until its waiter is opened. */
    keepEarly(tx) {
        if (tx?.payment_uuid && !tx.final && !this._byUuid.has(tx.payment_uuid)) {
            this._early.set(tx.payment_uuid, tx);
        }
    }

    /** The news kept for `uuid`, once. */
    takeEarly(uuid) {
        const tx = this._early.get(uuid);
        this._early.delete(uuid);
        return tx;
    }

    /** True while `waiter` still waits for the final state of its payment. */
    isWaiting(uuid, waiter) {
        return this._byUuid.get(uuid) === waiter;
    }

    /** Ends the wait of `waiter` with `tx`; later calls change nothing. */
    settle(uuid, waiter, tx) {
        if (this.isWaiting(uuid, waiter)) {
            this._byUuid.delete(uuid);
            waiter.resolve(tx);
        }
    }

    /**
     * Routes a transaction dict to its waiter: "final" when it ended the wait, "progress" when
     * it is news about the followed attempt still running, "ignored" otherwise.
     */
    deliver(tx) {
        const waiter = tx?.payment_uuid && this._byUuid.get(tx.payment_uuid);
        if (!waiter || isOlderAttempt(waiter, tx)) {
            return "ignored";
        }
        if (tx.final) {
            this.settle(tx.payment_uuid, waiter, tx);
            return "final";
        }
        waiter.state = tx.state;
        return "progress";
    }
}

/**
 * Asks `status()` for the payment while `waiter` waits, as often as :func:`nextPollDelay` says,
 * and hands every answer to `onAnswer`. The bus is relied on while `busUp()` and once the
 * attempt has left the "pending" state (`waiter.state`: the state it was opened with, then what
 * the answers and the bus say; "pending" if none): the public note that it reached the terminal
 * often comes before the POS waits for it, and the cashier must see soon that the customer can
 * pay. When the bus says so during a pause, no call is made for it. A lost connection
 * (`onOffline`) is waited out; MAX_SERVER_ERRORS server errors in a row, or `deadline` passed,
 * end the wait with `giveUp(error)` (`error` null for the deadline), which returns the dict to
 * settle with.
 */
export async function pollUntilFinal(waiters, uuid, waiter, hooks) {
    const { status, onAnswer, deadline, isConnectionLost, onOffline, giveUp } = hooks;
    const busUp = hooks.busUp || (() => false);
    const lateAt = hooks.lateAt ?? 0;
    const sleep = hooks.sleep || delay;
    const now = hooks.now || Date.now;
    const random = hooks.random || Math.random;
    waiter.state = waiter.state || "pending";
    let serverErrors = 0;
    while (waiters.isWaiting(uuid, waiter)) {
        const pending = waiter.state === "pending";
        await sleep(nextPollDelay(busUp() && !pending, now(), lateAt, random));
        if (!waiters.isWaiting(uuid, waiter)) {
            return;
        }
        // The bus told during the pause that the terminal has the request: its pace from now.
        const heard = pending && waiter.state !== "pending" && busUp();
        try {
            if (!heard) {
                const tx = await status();
                serverErrors = 0;
                waiter.state = tx.state;
                onAnswer(tx);
            }
        } catch (error) {
            if (isConnectionLost(error)) {
                onOffline();
            } else if (++serverErrors >= MAX_SERVER_ERRORS) {
                waiters.settle(uuid, waiter, giveUp(error));
                return;
            }
        }
        if (waiters.isWaiting(uuid, waiter) && now() > deadline) {
            waiters.settle(uuid, waiter, giveUp(null));
            return;
        }
    }
}

/**
 * `start(startKey)` at once, then again after each network error, START_RETRY_DELAYS apart
 * (jittered): tills that clicked together and met a full listen queue come back spread out,
 * while a lone till never waits. Any other error, or a network error past the last delay, is
 * thrown. Every try gives the same `startKey`, new for each call: the server knows a repeat by
 * it, and never lets it start a second attempt, even after a first one that ended at once.
 */
export async function startWithRetries(start, hooks) {
    const sleep = hooks.sleep || delay;
    const random = hooks.random || Math.random;
    const startKey = (hooks.newKey || randomHex)();
    for (let tries = 0; ; tries++) {
        try {
            return await start(startKey);
        } catch (error) {
            if (!hooks.isConnectionLost(error) || tries >= START_RETRY_DELAYS.length) {
                throw error;
            }
        }
        await sleep(jittered(START_RETRY_DELAYS[tries], random));
    }
}
