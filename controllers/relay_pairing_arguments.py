"""What the caller of a relay's pairing controls, and what is checked.

``/caisse_ap/relay/pair`` takes no token: anyone may post to it. Asking for a
code goes through Odoo's own RPC route. One row per argument: the route, the
argument, what the server checks before it acts, and the test written as that
attack, through the HTTP route (``module:Class.test``, under ``tests/``). A
dev test keeps every named test in existence. Why a few guesses are harmless:
``models/pos_caisse_ap_relay_pairing.py``.
"""

PAIR = "/caisse_ap/relay/pair"
ASK = "/web/dataset/call_kw pos.caisse.ap.relay.action_caisse_ap_pairing_code"

PAIR_ARGUMENTS = (
    (PAIR, "scheme, X-Forwarded-* headers",
     "HTTPS, unless the peer is loopback with no proxy header (tests, demo): 403; "
     "the code and the token never travel in clear",
     "test_backend_relay_pairing_attacks:"
     "TestPairingRoute.test_pairing_over_plain_http_is_refused"),
    (PAIR, "body",
     "at most 1024 bytes (refused from its Content-Length, or once read when "
     "sent in chunks): 413; a JSON object whose code is a string, else 400, "
     "not counted (it cannot pair)",
     "test_backend_relay_pairing_attacks:"
     "TestPairingRoute.test_a_body_that_is_no_code_is_refused_uncounted"),
    (PAIR, "code",
     "8 code symbols (case, spaces, dashes ignored) whose PBKDF2 hash is a "
     "code an administrator made; else 403 after a 1 s pause, counted",
     "test_backend_relay_pairing_attacks:"
     "TestPairingRoute.test_a_guessed_code_is_refused_slowly_and_counted"),
    (PAIR, "code (used)", "single use: the pairing deletes it",
     "test_backend_relay_pairing_attacks:"
     "TestPairingRoute.test_a_replayed_code_is_refused"),
    (PAIR, "code (expired)", "made less than 15 minutes ago",
     "test_backend_relay_pairing_attacks:"
     "TestPairingRoute.test_an_expired_code_is_refused"),
    (PAIR, "code (its relay)",
     "pairs the relay it was made for, if still active, and no other; the "
     "relay's newest code only",
     "test_backend_relay_pairing_attacks:"
     "TestPairingRoute.test_a_code_pairs_its_own_relay_only"),
    (PAIR, "wrong codes (from one address)",
     "10 an hour from one address: then that address is refused at once (429, "
     "no hash, no pause, not counted) and an ERROR is logged; other addresses "
     "and the open codes are untouched",
     "test_backend_relay_pairing_attacks:"
     "TestPairingRoute.test_one_source_guessing_locks_out_only_itself"),
    (PAIR, "wrong codes (from many addresses)",
     "100 an hour for the database: then every code is refused at once (429) "
     "and an ERROR is logged; a code lives 15 minutes, so at most 25 guesses "
     "reach it",
     "test_backend_relay_pairing_attacks:"
     "TestPairingRoute.test_a_flood_from_many_sources_is_refused_and_logged"),
    (ASK, "user", "a Point of Sale administrator, else AccessError and no code",
     "test_backend_relay_pairing_attacks:"
     "TestPairingCodeDialog.test_a_cashier_cannot_ask_for_a_code"),
    (ASK, "args (the relay's id)",
     "a relay the user may write (the user's companies), else AccessError and "
     "no code",
     "test_backend_relay_pairing_attacks:"
     "TestPairingCodeDialog."
     "test_a_code_for_a_relay_of_another_company_is_refused"),
)  # fmt: skip
