/** The Caisse-AP kiosk's fixed values. */
export { TERMINAL_KEY } from "@l10n_fr_pos_caisse_ap_ip/app/constants";
// The bus brings the outcome at once; this poll only covers a lost note.
export const STATUS_POLL_MS = 5000;
// Outcomes after which the customer may try again on the kiosk.
export const RETRY_OUTCOMES = ["refused", "cancelled", "not_sent"];
