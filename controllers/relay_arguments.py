"""What a shop relay's caller controls on /caisse_ap/relay/*, and what is checked.

Anyone holding a relay's token (a file on a shop's machine) can post anything
to these routes. One row per argument: the route, the argument, what the
server checks before it acts, and the test written as that attack, through
the HTTP route (``module:Class.test``, under ``tests/``). A dev test keeps
every named test in existence. The pairing route takes no token: its table
is ``relay_pairing_arguments.py``.
"""

EVERY_ROUTE = "/caisse_ap/relay/*"
# The relay's wake-ups: a subscribe on Odoo's websocket (models/ir_websocket.py).
BUS_SUBSCRIBE = "/websocket subscribe"

RELAY_ARGUMENTS = (
    (
        EVERY_ROUTE,
        "Authorization header",
        "a Bearer token whose hash is an active relay's (constant-time compare); "
        "else 401 and a WARNING without the token; a neutralised copy has none",
        "test_backend_relay:TestRelay.test_wrong_and_revoked_tokens_are_refused_and_logged",
    ),
    (
        EVERY_ROUTE,
        "scheme, X-Forwarded-* headers",
        "HTTPS, unless the peer is loopback with no proxy header (tests, demo): 403",
        "test_backend_relay_attacks:TestPollsCannotHoldTheServer."
        "test_plain_http_through_a_local_proxy_is_refused",
    ),
    (
        EVERY_ROUTE,
        "body size",
        "refused from its Content-Length above MAX_BODY, before a byte is read: 413",
        "test_backend_relay_attacks:TestPollsCannotHoldTheServer."
        "test_oversized_body_is_refused_before_it_is_read",
    ),
    (
        EVERY_ROUTE,
        "body, when Odoo runs the request again",
        "read once and kept, so that a request run again after a concurrent write "
        "sees the same body (never an empty one answered 'not your transaction')",
        "test_backend_relay_attacks:TestForgedOutcomes."
        "test_an_outcome_survives_odoo_running_its_request_again",
    ),
    (
        EVERY_ROUTE,
        "body",
        "a JSON object, without NaN or Infinity; anything else 400, never a 500",
        "test_backend_relay_attacks:TestRelayFuzz.test_fuzz_every_endpoint",
    ),
    (
        "/caisse_ap/relay/poll",
        "wait",
        "a finite number, clamped to 0..MAX_WAIT; held only off prefork workers",
        "test_backend_relay_attacks:TestPollsCannotHoldTheServer."
        "test_non_finite_or_non_numeric_wait_is_refused",
    ),
    (
        "/caisse_ap/relay/poll",
        "repeated polls",
        "one held poll per relay; the others answered at once with retry_after",
        "test_backend_relay_attacks:TestPollsCannotHoldTheServer."
        "test_one_held_poll_per_relay",
    ),
    (
        "/caisse_ap/relay/poll",
        "version, waiting, last_error",
        "bounded text and integers, escaped where the relay's page shows them",
        "test_backend_relay_attacks:TestPollsCannotHoldTheServer."
        "test_what_the_relay_says_of_itself_is_shown_bounded",
    ),
    (
        "/caisse_ap/relay/poll",
        "protocol",
        "a relay older than the claim key is handed no payment",
        "test_backend_relay_attacks:TestRelayTenancy."
        "test_a_relay_older_than_the_claim_key_gets_no_payment",
    ),
    (
        "/caisse_ap/relay/poll",
        "claim",
        "absent, or 16 to 64 characters, else 400 before anything is claimed; the "
        "payments handed out are claimed with it, each by one key only",
        "test_backend_relay_attacks:TestClaimingPolls."
        "test_invalid_claim_keys_are_refused_and_claim_nothing",
    ),
    (
        "/caisse_ap/relay/poll",
        "claim (said again)",
        "brings again only what that key claimed, without outcome, within the send "
        "deadline; another key gets none of it",
        "test_backend_relay_attacks:TestClaimingPolls."
        "test_a_lost_poll_answer_brings_the_payment_again_to_its_key_only",
    ),
    (
        "/caisse_ap/relay/claim",
        "transaction_id",
        "an integer naming a transaction of the token's relay only, else the "
        "controller's own 404 (another company's relay gets nothing)",
        "test_backend_relay:TestRelay.test_other_company_token_gets_nothing",
    ),
    (
        "/caisse_ap/relay/claim",
        "claim",
        "16 to 64 characters; the first key wins, pending to sent in one locked "
        "update, and only its holder may send",
        "test_backend_relay:TestRelay.test_claim_only_once",
    ),
    (
        "/caisse_ap/relay/result",
        "claim",
        "the key that won the claim, else 409 and nothing changed",
        "test_backend_relay_attacks:TestForgedOutcomes."
        "test_outcome_without_the_winning_claim_key_is_refused",
    ),
    (
        "/caisse_ap/relay/result",
        "exchange",
        "an outcome that can be true (the journal's check), else 400",
        "test_backend_relay_attacks:TestForgedOutcomes."
        "test_outcomes_that_cannot_be_true_are_refused",
    ),
    (
        "/caisse_ap/relay/result",
        "exchange.request_frame",
        "the server's own request frame is kept; a differing copy is stored beside "
        "it with a WARNING",
        "test_backend_relay_attacks:TestForgedOutcomes."
        "test_the_relay_cannot_rewrite_what_was_asked",
    ),
    (
        "/caisse_ap/relay/result",
        "exchange texts",
        "control characters escaped, never a server error",
        "test_backend_relay_attacks:TestForgedOutcomes."
        "test_control_characters_are_escaped_not_a_server_error",
    ),
    (
        "/caisse_ap/relay/result",
        "a repeated post",
        "recorded once; the repeat is answered duplicate and changes nothing",
        "test_backend_relay:TestRelay.test_repeated_result_post_is_recorded_once",
    ),
    (
        "/caisse_ap/relay/probe",
        "probe_id",
        "an integer naming a connection test of the token's relay only, else 404",
        "test_backend_relay_attacks:TestRelayTenancy."
        "test_another_relays_connection_test_is_not_answered",
    ),
    (
        "/caisse_ap/relay/probe",
        "ok, reason",
        "ok a boolean, else 400; reason at most 500 characters, escaped; the first "
        "answer stays",
        "test_backend_relay_attacks:TestPollsCannotHoldTheServer."
        "test_probe_answers_are_checked_and_escaped",
    ),
    (
        "/caisse_ap/relay/probe",
        "found, complete",
        "for a terminal search only: a list of at most 1,024 IP addresses without "
        "IPv6 zone, each in the network searched, stored once each; complete a "
        "boolean; else 400",
        "test_backend_relay_attacks:TestRelayTenancy."
        "test_a_search_answer_names_only_the_searched_network",
    ),
    (
        BUS_SUBSCRIBE,
        "caisse_ap_relay (the token)",
        "an active relay's token, else the connection is closed (4001) and the "
        "refusal logged, nothing joined",
        "test_backend_relay_bus:TestRelayBus.test_a_wrong_or_missing_token_is_refused",
    ),
    (
        BUS_SUBSCRIBE,
        "caisse_ap_relay (a replaced token)",
        "a new token cuts the old one's connections off at once",
        "test_backend_relay_bus:TestRelayBus."
        "test_a_replaced_token_stops_hearing_at_once",
    ),
    (
        BUS_SUBSCRIBE,
        "channels",
        "a relay's channel is a record channel that only its token joins: a channel "
        "named like it, even exactly, hears nothing",
        "test_backend_relay_bus:TestRelayBus.test_guessed_channel_names_hear_nothing",
    ),
    (
        BUS_SUBSCRIBE,
        "session cookie",
        "a logged-in user (a cashier) without the token joins nothing",
        "test_backend_relay_bus:TestRelayBus.test_a_logged_in_cashier_needs_the_token_too",
    ),
    (
        BUS_SUBSCRIBE,
        "scheme, X-Forwarded-* headers",
        "as the HTTP routes: HTTPS unless really local, else refused",
        "test_backend_relay_bus:TestRelayBus.test_plain_http_through_a_proxy_is_refused",
    ),
)
