"""What Odoo and the shop relay exchange (JSON), shared by both ends.

The shop relay (:mod:`caisse_ap.relay`) lets an Odoo server that cannot reach
the shop's terminals (Odoo.sh) use them: the relay runs in the shop and keeps
an OUTBOUND HTTPS connection to Odoo; no port is opened anywhere.

Protocol (every call is ``POST`` with a JSON body, the relay's token in the
``Authorization: Bearer`` header; any other answer than 200 is an error; no
redirect is followed):

``/caisse_ap/relay/poll`` ``{"version", "protocol", "wait", "waiting", "last_error"}``
(and ``"claim"``, below)
    Long poll: Odoo answers as soon as it has work for this relay, or after
    ``wait`` seconds with none: ``{"jobs": [...], "wait": max wait,
    "protocol"}``. One poll of a relay is held at a time: another one is
    answered at once with ``"retry_after"`` seconds to wait before the next
    (a second relay process with the same token, or a flood). A held poll
    holds no database connection while it waits. A prefork HTTP worker
    answers at once instead (holding it would take it from the cashiers): the
    relay polls again after its interval.
    ``protocol`` is each side's :data:`PROTOCOL`; ``waiting`` and
    ``last_error`` say how many outcomes the relay keeps undelivered and why
    (shown on the relay's page in Odoo). A job is ``{"kind": "payment",
    "transaction_id", "host", "port", "request", "answer_timeout",
    "allow_local", "networks"}`` (and ``"claim"``, below), ``{"kind":
    "probe", "probe_id", "host", "port", "allow_local", "networks"}`` or
    ``{"kind": "scan", "probe_id", "network", "port", "allow_local",
    "networks"}``: ``allow_local`` and ``networks`` are the server's address
    policy (:mod:`caisse_ap.address`), which the relay applies to what the
    host resolves to (a refused host: nothing sent, the outcome is
    ``not_sent`` with its ``refusal``).
    Polling marks the relay as seen (online). A poll without ``claim``
    claims nothing: a lost answer loses nothing and the job comes again.
    With ``claim`` (a random key of 16 to 64 characters, as for the claim
    call; the relay sends one when it does not ask to be held, i.e. when the
    bus woke it), the payments the poll hands out are claimed with that key
    in the poll's own transaction, as the claim call would, and their jobs
    carry ``"claim"``: the relay sends them without a claim call (one round
    trip per wake-up instead of two). Its answer lost, the relay polls again
    with the SAME key, at once (not held, even if the bus went away), and
    only then: a key that got its answer is never said again; the payments
    that key claimed come again as long as they have no outcome and their
    send deadline has not passed. A relay that
    dies in between leaves them ``sent``: ``unknown`` at their deadline, as
    after a lost claim answer, never resent. A claimed job the relay cannot
    run (a request it does not understand) is posted at once as a
    ``not_sent`` outcome with the key. A poll held for work claims only what
    waits when it comes; what it finds later comes unclaimed.
``/caisse_ap/relay/claim`` ``{"transaction_id", "claim"}`` -> ``{"send", "reason"}``
    BEFORE sending anything to the terminal the relay claims the payment (a
    job that carries its poll's own ``claim`` is claimed already): in
    the database it goes from ``pending`` to ``sent`` in one locked update,
    exactly once, with the relay's random ``claim`` key. Only a relay that got
    ``"send": true`` sends, so a repeated poll, a second relay process or a
    reconnection can never send a request twice; the same key claiming again
    (its first answer was lost) is told ``true`` again. From then on a relay
    that disappears leaves the payment ``sent``, which the sweep turns into
    ``unknown`` at its deadline (never resent).
``/caisse_ap/relay/result`` ``{"transaction_id", "claim", "exchange"}``
-> ``{"recorded"}``
    The classified outcome (``exchange`` below: the engine's ExchangeResult,
    card number already reduced to its last 4 digits), with the key that won
    the claim: the proof that this relay sent the request. Another key is
    refused (409) and changes nothing; so is an outcome that cannot be true
    (:func:`caisse_ap.journal.checked_record`, 400). Idempotent by
    transaction: a repeated post is answered ``{"recorded": false,
    "duplicate": true}`` and changes nothing. A late post (after the sweep)
    is still recorded, as a direct payment's late answer is. The relay keeps
    an outcome until it is answered 200, or the controller's own 404 for a
    transaction that is not this relay's: ``{"error", "code":
    "unknown_transaction"}`` (:func:`is_unknown_transaction`). Any other 404
    (a proxy's page, an Odoo without this database or without the addon)
    is retried like any other refusal.
``/caisse_ap/relay/probe`` ``{"probe_id", "ok", "reason"}``
    The outcome of "Test connection" (a TCP connection opened and closed by
    the relay; nothing is sent to the terminal); for a scan (*Find
    terminals*), also ``"found"`` (the addresses of the network that accepted
    a connection, nothing sent) and ``"complete"``. A relay that does not
    know scans ignores the job (it logs it): the server gives up waiting.

Each side accepts what the other's older or newer version sends wherever
the meaning is unchanged: an outcome's unknown keys are ignored; a request
to send with unknown keys is refused (it could mean something else).

A payment that no relay claims before its send deadline ends ``error``
("not sent": the relay is offline), which is safe to retry.

Wake-ups over Odoo's bus (``/websocket``, served by Odoo's gevent process on
a prefork server): the relay opens a websocket as an anonymous client and
sends Odoo's own ``subscribe`` message with one key more,
:data:`BUS_KEY`: ``{"token", "version", "protocol", "waiting",
"last_error"}``. A valid token subscribes the connection to the relay's
channel, which only the server names (a record channel, unreachable by a
client's channel names, derived from the token's hash: a new token leaves
the old connections deaf); the poll's presence is recorded, and a
:data:`BUS_READY` notification answers. Any other token closes the
connection (4001). When a payment, a connection test or a search for
terminals waits for the relay, the server sends :data:`BUS_WORK` there: the
relay then polls at once, with a claim key. The relay repeats its subscribe every
:data:`BUS_HEARTBEAT` seconds (its presence) and counts the connection lost
when no :data:`BUS_READY` answers within :data:`BUS_READY_TIMEOUT`. While it
listens, it polls every :data:`BUS_SAFETY_POLL` seconds only; without the
bus (a proxy that does not route ``/websocket``, an older Odoo), it polls as
before. The notifications carry nothing but their type.
"""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import types
import typing
from enum import Enum

from .exchange import ExchangeResult
from .request import PaymentRequest

AUTH_HEADER = "Authorization"
AUTH_SCHEME = "Bearer"
PATH_POLL = "/caisse_ap/relay/poll"
PATH_CLAIM = "/caisse_ap/relay/claim"
PATH_RESULT = "/caisse_ap/relay/result"
PATH_PROBE = "/caisse_ap/relay/probe"
# The longest a poll waits on the server (a relay asking for more gets this).
MAX_WAIT = 25.0
MAX_BODY = 256 * 1024
# What a poll answered at once because another poll of the relay is held
# asks the relay to wait before polling again, seconds.
BUSY_RETRY = 5.0
# What both ends speak; a relay and a server of different protocols still
# work together where the meaning is unchanged, and say so. 3: a poll may
# claim (a server of protocol 2 ignores the key: the relay then claims).
PROTOCOL = 3
# The oldest relay protocol a server hands payments to: protocol 1 relays post
# outcomes without the claim key, which this server requires.
MIN_PAYMENT_PROTOCOL = 2
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
# Odoo's bus: the path of its websocket, the relay's key in a subscribe
# message, and the types of the notifications on the relay's channel.
PATH_BUS = "/websocket"
BUS_KEY = "caisse_ap_relay"
BUS_READY = "caisse_ap_relay.ready"
BUS_WORK = "caisse_ap_relay.work"
# Seconds between the relay's subscribe messages (each one records its
# presence: under the 60 s after which a relay is shown offline) ...
BUS_HEARTBEAT = 30.0
# ... and how long each may wait for its BUS_READY before the relay counts
# the connection lost.
BUS_READY_TIMEOUT = 10.0
# The relay's poll while it listens on the bus: a safety net only.
BUS_SAFETY_POLL = 60.0
# Headers a reverse proxy adds: a request that carries one did not come from
# this machine, whatever the socket's peer says.
FORWARDED_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP")
# The code of the controller's 404 for a transaction that is not the relay's
# (or no longer exists): the one refusal after which a relay forgets an outcome.
UNKNOWN_TRANSACTION = "unknown_transaction"
# The controller's words for it, which servers before the code sent alone.
UNKNOWN_TRANSACTION_TEXT = "no such transaction for this relay"


class WireError(ValueError):
    """A message that does not have the expected shape."""


def to_json(value: object) -> object:
    """JSON-safe form of an engine value (dataclasses, enums, bytes as base64)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: to_json(getattr(value, field.name))
            for field in dataclasses.fields(value)
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    return value


def from_json(
    kind: type, data: object, where: str = "", strict: bool = True
) -> typing.Any:
    """Rebuild a value of type ``kind`` from :func:`to_json`'s form, checking it.

    ``strict``: refuse an object's unknown keys (else they are ignored).
    """
    where = where or getattr(kind, "__name__", str(kind))
    if dataclasses.is_dataclass(kind):
        return _dataclass_from_json(kind, data, where, strict)
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if data is None and type(None) in options:
            return None
        (option,) = [option for option in options if option is not type(None)]
        return from_json(option, data, where, strict)
    if origin is dict:
        if not isinstance(data, dict) or not all(
            isinstance(key, str) and isinstance(item, str) for key, item in data.items()
        ):
            raise WireError(f"{where}: an object of texts expected")
        return dict(data)
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(data)
        except ValueError:
            raise WireError(f"{where}: invalid value {data!r}") from None
    if kind is bytes:
        if not isinstance(data, str):
            raise WireError(f"{where}: base64 text expected")
        try:
            return base64.b64decode(data, validate=True)
        except ValueError:
            raise WireError(f"{where}: invalid base64") from None
    return _scalar(kind, data, where)


def _scalar(kind: type, data: object, where: str) -> object:
    if kind is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if kind is int and isinstance(data, bool):
        raise WireError(f"{where}: an integer expected")
    if kind in (str, int, float, bool) and isinstance(data, kind):
        return data
    raise WireError(f"{where}: {kind.__name__} expected, not {type(data).__name__}")


def _dataclass_from_json(kind: type, data: object, where: str, strict: bool) -> object:
    if not isinstance(data, dict):
        raise WireError(f"{where}: an object expected")
    hints = typing.get_type_hints(kind)
    fields = {field.name: field for field in dataclasses.fields(kind)}
    unknown = set(data) - set(fields)
    if unknown and strict:
        raise WireError(f"{where}: unexpected keys {sorted(unknown)}")
    values = {}
    for name, field in fields.items():
        if name in data:
            values[name] = from_json(hints[name], data[name], f"{where}.{name}", strict)
        elif (
            field.default is dataclasses.MISSING
            and field.default_factory is dataclasses.MISSING
        ):
            raise WireError(f"{where}: {name} missing")
    try:
        return kind(**values)
    except (TypeError, ValueError) as error:
        raise WireError(f"{where}: {error}") from None


def request_from_json(data: object) -> PaymentRequest:
    return from_json(PaymentRequest, data, "request")


def exchange_from_json(data: object) -> ExchangeResult:
    # A newer relay may add keys: what this server knows keeps its meaning.
    return from_json(ExchangeResult, data, "exchange", strict=False)


def is_unknown_transaction(status: int, answer: object) -> bool:
    """Whether an error answer is the relay controller's own "this transaction
    is not yours": a 404 whose JSON body has its code (or, from a server
    without the code, its exact words). A 404 from anything else in front of
    or instead of the controller says nothing of the transaction."""
    if status != 404 or not isinstance(answer, dict):
        return False
    if "code" in answer:
        return answer["code"] == UNKNOWN_TRANSACTION
    return answer.get("error") == UNKNOWN_TRANSACTION_TEXT


def is_local_host(host: str | None) -> bool:
    """Plain HTTP is allowed only to this machine (tests, demo)."""
    return (host or "").strip("[]").lower() in LOCAL_HOSTS


def is_loopback_request(
    remote_addr: str | None, header: typing.Callable[[str], object]
) -> bool:
    """Whether a request comes from this machine with no proxy in between: a
    loopback peer and none of a proxy's headers (``header(name)`` reads one).
    With ``proxy_mode``, Odoo already put the real client's address in the
    request; without it, a local proxy's own loopback address proves nothing.
    """
    try:
        loopback = ipaddress.ip_address(remote_addr or "").is_loopback
    except ValueError:
        return False
    return loopback and not any(header(name) for name in FORWARDED_HEADERS)


def relay_status(body: dict) -> dict:
    """What a relay says of itself (poll body, bus subscribe), bounded."""

    def text(key: str, limit: int) -> str:
        value = body.get(key)
        return value[:limit] if isinstance(value, str) else ""

    def count(key: str) -> int:
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return min(max(value, 0), 2**31 - 1)
        return 0

    return {
        "version": text("version", 32) or "?",
        "protocol": count("protocol") or 1,
        "waiting": count("waiting"),
        "last_error": text("last_error", 500),
    }
