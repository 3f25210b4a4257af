"""A shop relay's pairing code: exchanged once, within minutes, for its token.

The code is short enough to read aloud (caisse_ap/relay_pairing.py: 8 symbols
of base 32, 2**40 codes), so it is guarded by how few guesses anyone gets:

- each code refuses to pair once WRONG_PER_CODE wrong codes were tried since
  it was made (any wrong code is a guess at every open code): a code is found
  by chance with a probability of at most 10 / 2**40, about 1e-11;
- every wrong code is counted (pos_caisse_ap_relay_pairing_attempt.py): past
  WRONG_PER_HOUR (30) in an hour, every code is refused at once (429: no
  hashing, no pause) and an error is logged. 30 guesses an hour is 263,000 a
  year, where finding one open code takes 2**39 (5.5e11) guesses on average:
  an attack is logged some two million years before it would succeed.
  Requests in flight together may each pass the count: at most one more per
  HTTP worker. Pairing waits for the hour to pass; a manual token still works;
- a wrong code is answered after a pause (the controller's), which costs the
  server at most WRONG_PER_HOUR pauses an hour.

Only a slow hash of the code is kept (PBKDF2, salted with the database's
secret): whoever reads the table must try 2**40 codes at HASH_ROUNDS rounds of
SHA-256 each (about 250 GPU-days) within the code's 15 minutes.
"""

import hashlib
import logging
from datetime import timedelta

from odoo import api, fields, models

from ..caisse_ap import relay_pairing

_logger = logging.getLogger(__name__)

WRONG_PER_CODE = 10
HASH_ROUNDS = 100_000  # about 25 ms of one CPU per code tried


class PosCaisseApRelayPairing(models.Model):
    _name = "pos.caisse.ap.relay.pairing"
    _description = "Caisse-AP shop relay: pairing code"

    relay_id = fields.Many2one(
        "pos.caisse.ap.relay", required=True, ondelete="cascade", readonly=True
    )
    code_hash = fields.Char(required=True, readonly=True, index=True)
    expires_at = fields.Datetime(required=True, readonly=True)
    # The last wrong code counted when this one was made: those after it are
    # guesses at it.
    wrong_before = fields.Integer(readonly=True)

    _sql_constraints = [
        ("relay_unique", "unique (relay_id)", "A shop relay has one pairing code."),
    ]

    def _hash(self, code):
        salt = self.env["ir.config_parameter"].sudo().get_param("database.secret")
        return hashlib.pbkdf2_hmac(
            "sha256", code.encode(), (salt or "").encode(), HASH_ROUNDS
        ).hex()

    @api.model
    def _caisse_ap_new_code(self, relay):
        """``(code, expires_at)``: a new code for ``relay``, whose previous one
        no longer pairs; the code in clear is returned once and kept nowhere."""
        code = relay_pairing.new_code()
        now = fields.Datetime.now()
        expires_at = now + timedelta(minutes=relay_pairing.CODE_MINUTES)
        pairings = self.sudo()
        pairings.search(
            ["|", ("relay_id", "=", relay.id), ("expires_at", "<", now)]
        ).unlink()
        attempts = self.env["pos.caisse.ap.relay.pairing.attempt"]
        pairings.create(
            {
                "relay_id": relay.id,
                "code_hash": self._hash(relay_pairing.normalised(code)),
                "expires_at": expires_at,
                "wrong_before": attempts._caisse_ap_last(),
            }
        )
        _logger.info(
            "Caisse-AP relay %s (%s): pairing code made by user %s",
            relay.id,
            relay.sudo().name,
            self.env.uid,
        )
        return code, expires_at

    @api.model
    def _caisse_ap_pair(self, code, address):
        """What ``code`` (normalised, or None) pairs: ``{"relay", "token",
        "refused"}``: the relay and its new token, which replaces the current
        one; or ``refused``: ``wrong`` (a wrong, expired or used code, counted)
        or ``paused`` (too many wrong codes this hour: not even looked at)."""
        attempts = self.env["pos.caisse.ap.relay.pairing.attempt"].sudo()
        if attempts._caisse_ap_paused():
            return {"relay": None, "token": None, "refused": "paused"}
        pairing = self.sudo().browse()
        if code:
            pairing = self.sudo().search(
                [("code_hash", "=", self._hash(code))], limit=1
            )
        relay = pairing.relay_id
        if pairing and self._usable(pairing, attempts):
            pairing.unlink()  # single use: a second request finds nothing
            token = relay._caisse_ap_replace_token(f"paired from {address}")
            return {"relay": relay, "token": token, "refused": None}
        pairing.unlink()
        attempts._caisse_ap_count_wrong(address)
        return {"relay": None, "token": None, "refused": "wrong"}

    def _usable(self, pairing, attempts):
        if pairing.expires_at < fields.Datetime.now() or not pairing.relay_id.active:
            return False
        guesses = attempts._caisse_ap_since(pairing.wrong_before)
        if guesses >= WRONG_PER_CODE:
            _logger.warning(
                "Caisse-AP relay %s (%s): its pairing code is refused, %s wrong codes "
                "were tried since it was made: ask for a new one",
                pairing.relay_id.id,
                pairing.relay_id.name,
                guesses,
            )
            return False
        return True
