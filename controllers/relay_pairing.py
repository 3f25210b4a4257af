"""The route a shop relay's machine pairs through: a code for the relay's token.

Anyone may post to it, without a token: what the caller controls, and what is
checked: ``relay_pairing_arguments.py``. Why a few guesses are harmless:
``models/pos_caisse_ap_relay_pairing.py``.
"""

import json
import logging
import time

from werkzeug.exceptions import RequestEntityTooLarge

from odoo import SUPERUSER_ID, http
from odoo.http import request

from ..caisse_ap import relay_pairing, relay_wire
from .relay import (
    _json,
    _no_constant,
    _Refused,
    _relay_route,
    _remote,
)

_logger = logging.getLogger(__name__)

# A code is 8 symbols: a body of more than this is no pairing request.
MAX_BODY = 1024
# How long a wrong code waits for its answer, seconds (at most WRONG_PER_HOUR
# of them an hour, past which codes are refused at once).
WRONG_CODE_PAUSE = 1.0


class CaisseApRelayPairingController(http.Controller):
    @_relay_route(relay_pairing.PATH_PAIR)
    def caisse_ap_relay_pair(self):
        # auth="none": no user; the pairing acts as the system, on one relay.
        request.update_env(user=SUPERUSER_ID)
        try:
            code = self._code()
        except _Refused as refused:
            return _json({"error": str(refused)}, refused.status)
        paired = request.env["pos.caisse.ap.relay.pairing"]._caisse_ap_pair(
            code, _remote()
        )
        if paired["refused"] == "paused":
            return _json({"error": "too many wrong codes: try again later"}, 429)
        if paired["refused"]:
            # Counted before the pause: a caller who gives up still counts.
            request.env.cr.commit()  # pylint: disable=invalid-commit
            time.sleep(WRONG_CODE_PAUSE)
            return _json({"error": "wrong, expired or used code"}, 403)
        relay = paired["relay"]
        _logger.info(
            "Caisse-AP relay %s (%s): paired from %s", relay.id, relay.name, _remote()
        )
        return _json({"token": paired["token"], "relay": relay.name})

    def _code(self):
        """The code the body holds, normalised (None: it holds no code that
        could pair); refuses what is not a pairing request."""
        httprequest = request.httprequest
        if httprequest.scheme != "https" and not relay_wire.is_loopback_request(
            httprequest.remote_addr, httprequest.headers.get
        ):
            _logger.warning(
                "Caisse-AP relay pairing: plain HTTP request from %s refused",
                _remote(),
            )
            raise _Refused(403, "HTTPS required")
        if (httprequest.content_length or 0) > MAX_BODY:
            raise _Refused(413, "request too large")
        try:
            data = httprequest.get_data(cache=False)
        except RequestEntityTooLarge:  # Odoo's own limit (128 MiB by default)
            raise _Refused(413, "request too large") from None
        if len(data) > MAX_BODY:  # sent without its length
            raise _Refused(413, "request too large")
        try:
            body = json.loads(data or b"{}", parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise _Refused(400, "invalid JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("code"), str):
            raise _Refused(400, "a JSON object with a code expected")
        return relay_pairing.normalised(body["code"])
