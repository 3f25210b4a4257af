import { describe, expect, test } from "@odoo/hoot";
import {
    BUS_POLL_INTERVAL,
    MAX_SERVER_ERRORS,
    POLL_INTERVAL,
    START_RETRY_DELAYS,
} from "@l10n_fr_pos_caisse_ap_ip/app/constants";
import {
    Waiters,
    isOlderAttempt,
    jittered,
    nextPollDelay,
    pollUntilFinal,
    startWithRetries,
    waitDeadline,
} from "@l10n_fr_pos_caisse_ap_ip/app/payment_wait";

class NetworkDown extends Error {}
const isConnectionLost = (error) => error instanceof NetworkDown;
const UUID = "5c1f0e6a";

/** A clock that moves only when the code under test sleeps, and records the sleeps. */
function fakeTime(start = 1_000_000) {
    const clock = { now: start, sleeps: [] };
    clock.sleep = async (ms) => {
        clock.sleeps.push(ms);
        clock.now += ms;
    };
    clock.read = () => clock.now;
    return clock;
}

/** `status()` answering from `script` in order: a dict, or an Error to throw. */
function scriptedStatus(script) {
    const calls = [];
    const status = async () => {
        const next = script[calls.length];
        calls.push(next);
        if (next === undefined) {
            throw new Error("status called past the end of the script");
        }
        if (next instanceof Error) {
            throw next;
        }
        return next;
    };
    return { status, calls };
}

/** Polls `waiters`' waiter of UUID with `script`; returns what the hooks saw. */
async function poll(
    script,
    {
        deadline = Infinity,
        clock = fakeTime(),
        attempt = 1,
        busUp = false,
        lateAt = 0,
        state = "sent",
    } = {},
) {
    const waiters = new Waiters();
    const [waiter] = waiters.open(UUID, attempt, state);
    const { status, calls } = scriptedStatus(script);
    const seen = { answers: [], offline: 0, gaveUp: [] };
    await pollUntilFinal(waiters, UUID, waiter, {
        status,
        onAnswer: (tx) => {
            seen.answers.push(tx.state);
            waiters.deliver(tx);
        },
        deadline,
        isConnectionLost,
        onOffline: () => seen.offline++,
        giveUp: (error) => {
            seen.gaveUp.push(error);
            return { payment_uuid: UUID, state: "unknown", final: true, local: true };
        },
        sleep: clock.sleep,
        now: clock.read,
        random: () => 0.5,
        busUp: () => busUp,
        lateAt,
    });
    expect(waiters.has(UUID)).toBe(false);
    return { outcome: await waiter, calls, seen, clock };
}

const tx = (state, extra = {}) => ({
    payment_uuid: UUID,
    attempt: 1,
    state,
    final: ["success", "failure", "unknown", "error"].includes(state),
    ...extra,
});

/** The hooks of `pollUntilFinal` these tests share: answers go to `waiters`, no deadline. */
function quietHooks(waiters) {
    return {
        onAnswer: (answer) => waiters.deliver(answer),
        deadline: Infinity,
        isConnectionLost,
        onOffline: () => {},
        giveUp: () => tx("unknown"),
    };
}

describe("l10n_fr_pos_caisse_ap_ip: jitter and deadline", () => {
    test("jittered stays within 30 % of the delay", () => {
        expect(jittered(1000, () => 0)).toBe(700);
        expect(jittered(1000, () => 0.5)).toBe(1000);
        expect(jittered(1000, () => 0.9999)).toBeWithin(1299, 1300);
    });

    test("the POS waits the method's timeout plus a margin", () => {
        expect(waitDeadline(5000, 120)).toBe(5000 + 180_000);
    });
});

describe("l10n_fr_pos_caisse_ap_ip: waiters", () => {
    test("one waiter per payment, made once", () => {
        const waiters = new Waiters();
        const [first, isNew] = waiters.open(UUID, 2);
        const [again, isNewAgain] = waiters.open(UUID, 3);
        expect([isNew, isNewAgain]).toEqual([true, false]);
        expect(again).toBe(first);
        expect(first.attempt).toBe(2);
    });

    test("news about an older attempt is ignored", async () => {
        const waiters = new Waiters();
        const [waiter] = waiters.open(UUID, 2);
        expect(isOlderAttempt(waiter, { attempt: 1 })).toBe(true);
        expect(isOlderAttempt(waiter, { attempt: 2 })).toBe(false);
        expect(isOlderAttempt(waiter, {})).toBe(false);
        expect(waiters.deliver(tx("failure", { attempt: 1 }))).toBe("ignored");
        expect(waiters.isWaiting(UUID, waiter)).toBe(true);
        expect(waiters.deliver(tx("sent", { attempt: 2 }))).toBe("progress");
        expect(waiters.deliver(tx("success", { attempt: 2 }))).toBe("final");
        expect((await waiter).state).toBe("success");
    });

    test("news heard before the start's answer waits for the payment's waiter", () => {
        const waiters = new Waiters();
        waiters.keepEarly(tx("sent"));
        waiters.keepEarly(tx("success", { payment_uuid: "other" }));
        expect(waiters.takeEarly("other")).toBe(undefined);
        const [waiter] = waiters.open(UUID, 1, "pending");
        expect(waiter.state).toBe("pending");
        const early = waiters.takeEarly(UUID);
        expect(early.state).toBe("sent");
        expect(waiters.takeEarly(UUID)).toBe(undefined);
        expect(waiters.deliver(early)).toBe("progress");
        expect(waiter.state).toBe("sent");
        // A followed payment's news goes to its waiter, never into the early news.
        waiters.keepEarly(tx("cancel_requested"));
        expect(waiters.takeEarly(UUID)).toBe(undefined);
    });

    test("a wait ends once: the first final answer wins", async () => {
        const waiters = new Waiters();
        const [waiter] = waiters.open(UUID, 1);
        waiters.settle(UUID, waiter, tx("success"));
        waiters.settle(UUID, waiter, tx("failure"));
        expect(waiters.deliver(tx("failure"))).toBe("ignored");
        expect((await waiter).state).toBe("success");
        expect(waiters.deliver({ payment_uuid: "other", final: true })).toBe("ignored");
        expect(waiters.deliver(undefined)).toBe("ignored");
    });
});

describe("l10n_fr_pos_caisse_ap_ip: polling", () => {
    test("polls until the final answer, one interval apart", async () => {
        const { outcome, calls, seen, clock } = await poll([
            tx("sent"),
            tx("cancel_requested"),
            tx("success"),
        ]);
        expect(outcome.state).toBe("success");
        expect(calls.length).toBe(3);
        expect(seen.answers).toEqual(["sent", "cancel_requested", "success"]);
        expect(clock.sleeps).toEqual([POLL_INTERVAL, POLL_INTERVAL, POLL_INTERVAL]);
    });

    test("stops asking once the bus brought the outcome", async () => {
        const waiters = new Waiters();
        const [waiter] = waiters.open(UUID, 1);
        const { status, calls } = scriptedStatus([tx("sent")]);
        const polling = pollUntilFinal(waiters, UUID, waiter, {
            status,
            ...quietHooks(waiters),
            // The bus answers while the poll sleeps.
            sleep: async () => waiters.deliver(tx("success")),
        });
        await polling;
        expect(calls.length).toBe(0);
        expect((await waiter).state).toBe("success");
    });

    test("a lost connection is waited out, not an outcome", async () => {
        const { outcome, seen } = await poll([
            new NetworkDown(),
            new NetworkDown(),
            new NetworkDown(),
            new NetworkDown(),
            tx("sent"),
            tx("failure"),
        ]);
        expect(seen.offline).toBe(4);
        expect(seen.gaveUp).toEqual([]);
        expect(outcome.state).toBe("failure");
    });

    test(`${MAX_SERVER_ERRORS} server errors in a row make the outcome unknown`, async () => {
        const broken = new Error("server error");
        const { outcome, calls, seen } = await poll([broken, broken, broken, tx("success")]);
        expect(calls.length).toBe(MAX_SERVER_ERRORS);
        expect(seen.gaveUp).toEqual([broken]);
        expect(outcome).toEqual({
            payment_uuid: UUID,
            state: "unknown",
            final: true,
            local: true,
        });
    });

    test("an answer between server errors starts the count again", async () => {
        const broken = new Error("server error");
        const { outcome, seen } = await poll([
            broken,
            broken,
            tx("sent"),
            broken,
            broken,
            tx("success"),
        ]);
        expect(seen.gaveUp).toEqual([]);
        expect(outcome.state).toBe("success");
    });

    test("past the deadline, the outcome is unknown (the server never answered)", async () => {
        const clock = fakeTime(0);
        const script = Array.from({ length: 10 }, () => tx("sent"));
        const { outcome, calls, seen } = await poll(script, {
            deadline: 3.5 * POLL_INTERVAL,
            clock,
        });
        expect(calls.length).toBe(4);
        expect(seen.gaveUp).toEqual([null]);
        expect(outcome.local).toBe(true);
    });
});

describe("l10n_fr_pos_caisse_ap_ip: polling is the bus's safety net", () => {
    test("while the bus is up, calls are rare until the outcome is late", () => {
        expect(nextPollDelay(true, 0, 60_000, () => 0.5)).toBe(BUS_POLL_INTERVAL);
        expect(nextPollDelay(true, 58_000, 60_000, () => 0.5)).toBe(2000);
        expect(nextPollDelay(true, 60_000, 60_000, () => 0.5)).toBe(POLL_INTERVAL);
        expect(nextPollDelay(false, 0, 60_000, () => 0.5)).toBe(POLL_INTERVAL);
    });

    test("one call falls when the terminal should have answered, then as often as before", async () => {
        const clock = fakeTime(0);
        const script = [...Array.from({ length: 5 }, () => tx("sent")), tx("success")];
        const { outcome, clock: used } = await poll(script, {
            clock,
            busUp: true,
            lateAt: 14_000,
        });
        expect(outcome.state).toBe("success");
        expect(used.sleeps).toEqual([
            BUS_POLL_INTERVAL,
            BUS_POLL_INTERVAL,
            2000,
            POLL_INTERVAL,
            POLL_INTERVAL,
            POLL_INTERVAL,
        ]);
    });

    test("at most 15 status calls a minute while the bus is up", async () => {
        const clock = fakeTime(0);
        const script = [...Array.from({ length: 40 }, () => tx("sent")), tx("success")];
        const calls = [];
        const waiters = new Waiters();
        const [waiter] = waiters.open(UUID, 1, "sent");
        const { status } = scriptedStatus(script);
        await pollUntilFinal(waiters, UUID, waiter, {
            status: () => {
                calls.push(clock.now);
                return status();
            },
            ...quietHooks(waiters),
            sleep: clock.sleep,
            now: clock.read,
            // The worst case of the jitter: the shortest pauses.
            random: () => 0,
            busUp: () => true,
            lateAt: 180_000,
        });
        expect(calls.filter((at) => at <= 60_000).length).toBeLessThan(16);
        expect((await waiter).state).toBe("success");
    });

    test("until the terminal has the payment, the POS asks as often as without the bus", async () => {
        const clock = fakeTime(0);
        const script = [tx("pending"), tx("sent"), tx("sent"), tx("success")];
        const { outcome, clock: used } = await poll(script, {
            clock,
            busUp: true,
            lateAt: 180_000,
            state: "pending",
        });
        expect(outcome.state).toBe("success");
        expect(used.sleeps).toEqual([
            POLL_INTERVAL,
            POLL_INTERVAL,
            BUS_POLL_INTERVAL,
            BUS_POLL_INTERVAL,
        ]);
    });

    test("a state the bus brought during a pause is not asked for", async () => {
        const clock = fakeTime(0);
        const waiters = new Waiters();
        const [waiter] = waiters.open(UUID, 1, "pending");
        const { status, calls } = scriptedStatus([tx("success")]);
        await pollUntilFinal(waiters, UUID, waiter, {
            status,
            ...quietHooks(waiters),
            // The tab's result channel says the terminal has the request during the first pause.
            sleep: async (ms) => {
                await clock.sleep(ms);
                if (clock.sleeps.length === 1) {
                    waiters.deliver(tx("sent"));
                }
            },
            now: clock.read,
            random: () => 0.5,
            busUp: () => true,
            lateAt: 180_000,
        });
        expect((await waiter).state).toBe("success");
        expect(calls.length).toBe(1);
        expect(clock.sleeps).toEqual([POLL_INTERVAL, BUS_POLL_INTERVAL]);
    });

    test("the bus going down brings the polling back at once", async () => {
        const clock = fakeTime(0);
        let busUp = true;
        const waiters = new Waiters();
        const [waiter] = waiters.open(UUID, 1, "sent");
        const { status } = scriptedStatus([tx("sent"), tx("sent"), tx("sent"), tx("success")]);
        await pollUntilFinal(waiters, UUID, waiter, {
            status: async () => {
                busUp = false;
                return status();
            },
            ...quietHooks(waiters),
            sleep: clock.sleep,
            now: clock.read,
            random: () => 0.5,
            busUp: () => busUp,
            lateAt: 180_000,
        });
        expect(clock.sleeps).toEqual([
            BUS_POLL_INTERVAL,
            POLL_INTERVAL,
            POLL_INTERVAL,
            POLL_INTERVAL,
        ]);
    });
});

describe("l10n_fr_pos_caisse_ap_ip: start retries", () => {
    test("a start lost to the network is sent again after the retry delays", async () => {
        const clock = fakeTime(0);
        let calls = 0;
        const started = await startWithRetries(
            async () => {
                if (++calls < 3) {
                    throw new NetworkDown();
                }
                return tx("pending");
            },
            { isConnectionLost, sleep: clock.sleep, random: () => 0.5 },
        );
        expect(started.state).toBe("pending");
        expect(calls).toBe(3);
        expect(clock.sleeps).toEqual(START_RETRY_DELAYS.slice(0, 2));
    });

    test("every try of a start carries its key; each start draws a new one", async () => {
        const keys = [];
        const start = () => {
            let calls = 0;
            return startWithRetries(
                async (startKey) => {
                    keys.push(startKey);
                    if (++calls < 3) {
                        throw new NetworkDown();
                    }
                    return tx("failure");
                },
                { isConnectionLost, sleep: async () => {} },
            );
        };
        await start();
        await start();
        expect(keys).toHaveLength(6);
        expect(new Set(keys.slice(0, 3)).size).toBe(1);
        expect(new Set(keys.slice(3)).size).toBe(1);
        expect(keys[0]).not.toBe(keys[3]);
        for (const key of keys) {
            // What the server takes as a start key.
            expect(key).toMatch(/^[0-9a-f]{32}$/);
        }
    });

    test("a till sends its first start at once, however many tills pay", async () => {
        // What the POS passes (the payment method's fields): nothing makes a first try wait.
        const clock = fakeTime(0);
        let sentAt = null;
        await startWithRetries(
            async () => {
                sentAt = clock.now;
                return tx("pending");
            },
            { isConnectionLost, sleep: clock.sleep, random: () => 0.9999, spread: 3000 },
        );
        expect(sentAt).toBe(0);
        expect(clock.sleeps).toEqual([]);
    });

    test("a refusal from the server is not retried", async () => {
        let calls = 0;
        const refused = new Error("busy terminal");
        await expect(
            startWithRetries(
                async () => {
                    calls++;
                    throw refused;
                },
                { isConnectionLost, sleep: async () => {} },
            ),
        ).rejects.toThrow(/busy terminal/);
        expect(calls).toBe(1);
    });

    test("the cashier is told after the last retry", async () => {
        let calls = 0;
        await expect(
            startWithRetries(
                async () => {
                    calls++;
                    throw new NetworkDown("down");
                },
                { isConnectionLost, sleep: async () => {} },
            ),
        ).rejects.toThrow(/down/);
        expect(calls).toBe(START_RETRY_DELAYS.length + 1);
    });
});
