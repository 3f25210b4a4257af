/** The `use_payment_terminal` key of Caisse-AP payment methods (same as the server's). */
export const TERMINAL_KEY = "fr-caisse_ap_ip";
/**
 * Milliseconds between two `caisse_ap_status` calls (on average) while the bus is down or the
 * outcome is late: the status is then the only way the POS learns it.
 */
export const POLL_INTERVAL = 1000;
/**
 * The same while the bus is up: it brings the outcome, the status calls are a safety net (10 a
 * minute on average, 14 at most with the jitter, against 60).
 */
export const BUS_POLL_INTERVAL = 6000;
/** Seconds granted to the server beyond the method's payment timeout before the POS gives up. */
export const DEADLINE_MARGIN = 60;
/** The method's payment timeout (seconds) when the POS has none. */
export const DEFAULT_TIMEOUT = 180;
/** Consecutive server errors on `caisse_ap_status` after which the outcome is unknown. */
export const MAX_SERVER_ERRORS = 3;
/**
 * Milliseconds (±30 %) before each new `caisse_ap_start` after a network error: a start is
 * idempotent (the server knows the payment by its uuid), so a repeat never sends twice. Past
 * the last one, the cashier is told. bench/lanes.py retries the same way.
 */
export const START_RETRY_DELAYS = [250, 500, 1000, 2000];
