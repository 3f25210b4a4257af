"""A shop relay's pairing code: exchanged once, within minutes, for its token.

The code is short enough to read aloud (caisse_ap/relay_pairing.py: 8 symbols
of base 32, 2**40 codes), so it is guarded by how few guesses anyone gets:

- every wrong code is counted with the address it came from
  (pos_caisse_ap_relay_pairing_attempt.py): past WRONG_PER_SOURCE (10) in an
  hour from one address, that address is refused at once (429: no hashing,
  no pause); past WRONG_PER_HOUR (100) from all addresses, every code is, and
  an error is logged. One address can thus lock out itself, not the shop
  that pairs from another; many addresses together can lock pairing for an
  hour (a manual token still works);
- a code lives 15 minutes, during which all sources together get at most 25
  guesses: one code is found by chance with a probability of at most
  25 / 2**40 (2e-11). 100 guesses an hour is 876,000 a year, where finding
  one open code takes 2**39 (5.5e11) guesses on average: some 600,000 years.
  Requests in flight together may each pass a count: at most one more per
  HTTP worker or thread;
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

HASH_ROUNDS = 100_000  # about 25 ms of one CPU per code tried


class PosCaisseApRelayPairing(models.Model):
    _name = "pos.caisse.ap.relay.pairing"
    _description = "Caisse-AP shop relay: pairing code"

    relay_id = fields.Many2one(
        "pos.caisse.ap.relay", required=True, ondelete="cascade", readonly=True
    )
    code_hash = fields.Char(required=True, readonly=True, index=True)
    expires_at = fields.Datetime(required=True, readonly=True)

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
        pairings.create(
            {
                "relay_id": relay.id,
                "code_hash": self._hash(relay_pairing.normalised(code)),
                "expires_at": expires_at,
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
        if attempts._caisse_ap_paused(address):
            return {"relay": None, "token": None, "refused": "paused"}
        pairing = self.sudo().browse()
        if code:
            pairing = self.sudo().search(
                [("code_hash", "=", self._hash(code))], limit=1
            )
        relay = pairing.relay_id
        if pairing and self._usable(pairing):
            pairing.unlink()  # single use: a second request finds nothing
            token = relay._caisse_ap_replace_token(f"paired from {address}")
            return {"relay": relay, "token": token, "refused": None}
        pairing.unlink()
        attempts._caisse_ap_count_wrong(address)
        return {"relay": None, "token": None, "refused": "wrong"}

    def _usable(self, pairing):
        return pairing.expires_at >= fields.Datetime.now() and pairing.relay_id.active
