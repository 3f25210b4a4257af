"""Caisse-AP over IP protocol engine (French payment terminals), pure Python.

Imports nothing from Odoo. This module is the engine's one public face: the
rest of the addon (runtime, models, controllers, bridges) imports the names of
``__all__`` from here and nothing from the submodules, which may change
(``dev/tests/test_rooms.py`` checks it; the tests and benchmarks look inside).

- sans-I/O codec: :class:`PaymentRequest` (built and validated locally),
  :func:`interpret_answer`, :class:`AnswerDecoder`, frame helpers;
- :class:`Exchange`: one exchange as a clock-free state, fed bytes and times;
- asyncio client: :func:`exchange_async` (and blocking :func:`exchange`,
  :func:`probe`) classify every ending as an :class:`Outcome`;
- :func:`scan`: which addresses of a small network accept a connection on the
  terminals' port (nothing sent), within the address policy;
- address policy: which terminal addresses may be reached, and one key per
  terminal however its address is spelled (:func:`terminal_key`);
- journal gate: :func:`outcome_record` and :func:`checked_record`, the one
  check every outcome passes before it is written;
- :class:`Spool`: outcomes kept on disk until Odoo has recorded them;
- :class:`LoopThread`: one asyncio loop in a thread for the blocking callers;
- :mod:`relay_wire`: what Odoo and the shop relay exchange, as a namespace
  (its names read ``relay_wire.PATH_POLL``), and :mod:`relay_pairing`: the
  pairing code that gives a relay its token (imported on first use);
- errors say whose fault it is: :class:`RequestError` (our input) or
  :class:`AnswerError` (what the terminal sent), both :class:`ProtocolError`.

The simulated terminal is :mod:`caisse_ap.simulator` and the shop relay
program :mod:`caisse_ap.relay` (neither imported here).
"""

import importlib
import sys

# The shop relay may meet an older python3 (Raspberry Pi OS Bullseye has 3.9):
# one clear line rather than a traceback at the first annotation.
if sys.version_info < (3, 10):  # noqa: UP036
    sys.exit(
        "caisse_ap needs Python 3.10 or newer; this is Python "
        f"{sys.version_info[0]}.{sys.version_info[1]}. Debian 12, Ubuntu 22.04 and "
        "Raspberry Pi OS Bookworm ship a suitable python3."
    )


from . import relay_wire
from .address import (
    DEFAULT_NETWORKS,
    AddressPolicy,
    AddressRefusal,
    AddressRefused,
    parse_networks,
    restricted_kind,
)
from .answer import PaymentResult, Status, interpret_answer
from .client import (
    Probe,
    allowed_addresses,
    exchange,
    exchange_async,
    probe,
    probe_async,
)
from .discovery import MAX_ADDRESSES as MAX_SCAN_ADDRESSES
from .discovery import (
    Scan,
    ScanRefused,
    plan_scan,
    scan,
    suggested_network,
)
from .decoder import MAX_ANSWER_SIZE, NEED_DATA, Answer, AnswerDecoder
from .exchange import Exchange, ExchangeResult, Outcome
from .frame import (
    AnswerError,
    ProtocolError,
    RequestError,
    decode_fields,
    encode_fields,
)
from .host import canonical_host, ip_address_of, is_valid_host, terminal_key
from .journal import (
    ACTIVE_STATES,
    FINAL_STATES,
    OutcomeRejected,
    checked_record,
    outcome_record,
)
from .labels import application_label, failure_label, read_mode_label
from .loop_thread import LoopThread, prestarted_pool
from .receipt import decode_receipt, encode_receipt
from .redact import card_last4, escape_controls, redact_frame
from .request import (
    MAX_AMOUNT,
    PROTOCOL_VERSIONS,
    Direction,
    PaymentMode,
    PaymentRequest,
)
from .spool import Spool

__all__ = [
    # Codec: requests built and checked here, answers read, frames, receipts.
    "MAX_AMOUNT",
    "MAX_ANSWER_SIZE",
    "NEED_DATA",
    "PROTOCOL_VERSIONS",
    "Answer",
    "AnswerDecoder",
    "Direction",
    "PaymentMode",
    "PaymentRequest",
    "PaymentResult",
    "Status",
    "decode_fields",
    "decode_receipt",
    "encode_fields",
    "encode_receipt",
    "interpret_answer",
    # Whose fault: ours (RequestError) or the terminal's (AnswerError).
    "AnswerError",
    "ProtocolError",
    "RequestError",
    # English names of the terminal's codes (for logs) and what a log may show.
    "application_label",
    "card_last4",
    "escape_controls",
    "failure_label",
    "read_mode_label",
    "redact_frame",
    # One exchange, and the asyncio client that runs it over TCP.
    "Exchange",
    "ExchangeResult",
    "Outcome",
    "Probe",
    "allowed_addresses",
    "exchange",
    "exchange_async",
    "probe",
    "probe_async",
    # Address policy: which terminals may be reached, one key per terminal.
    "DEFAULT_NETWORKS",
    "AddressPolicy",
    "AddressRefusal",
    "AddressRefused",
    "canonical_host",
    "ip_address_of",
    "is_valid_host",
    "parse_networks",
    "restricted_kind",
    "terminal_key",
    # Finding terminals: who answers on the terminals' port (nothing sent).
    "MAX_SCAN_ADDRESSES",
    "Scan",
    "ScanRefused",
    "plan_scan",
    "scan",
    "suggested_network",
    # Journal gate: the record of an outcome and the one check it passes, and
    # the states of a transaction (running, then final).
    "ACTIVE_STATES",
    "FINAL_STATES",
    "OutcomeRejected",
    "checked_record",
    "outcome_record",
    # Outcomes kept on disk until Odoo has recorded them.
    "Spool",
    # One asyncio loop in a thread, for callers that block.
    "LoopThread",
    "prestarted_pool",
    # The shop relay's protocol with Odoo, and its pairing (namespaces).
    "relay_pairing",
    "relay_wire",
]


def __getattr__(name: str) -> object:
    """relay_pairing, imported on first use: it imports the relay program (its
    ``pair`` command), which ``python -m caisse_ap.relay`` must load once only,
    as ``__main__``."""
    if name == "relay_pairing":
        return importlib.import_module(".relay_pairing", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
