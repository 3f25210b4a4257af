"""Caisse-AP over IP protocol engine (French payment terminals), pure Python.

Imports nothing from Odoo. This module is the engine's one public face:

- sans-I/O codec: :class:`PaymentRequest` (built and validated locally),
  :func:`interpret_answer`, :class:`AnswerDecoder`, frame helpers;
- :class:`Exchange`: one exchange as a clock-free state, fed bytes and times;
- asyncio client: :func:`exchange_async` (and blocking :func:`exchange`,
  :func:`probe`) classify every ending as an :class:`Outcome`;
- :func:`scan`: which addresses of a small network accept a connection on the
  terminals' port (nothing sent), within the address policy;
- errors say whose fault it is: :class:`RequestError` (our input) or
  :class:`AnswerError` (what the terminal sent), both :class:`ProtocolError`.

The simulated terminal is :mod:`caisse_ap.simulator` (not imported here).
"""

import sys

# The shop relay may meet an older python3 (Raspberry Pi OS Bullseye has 3.9):
# one clear line rather than a traceback at the first annotation.
if sys.version_info < (3, 10):  # noqa: UP036
    sys.exit(
        "caisse_ap needs Python 3.10 or newer; this is Python "
        f"{sys.version_info[0]}.{sys.version_info[1]}. Debian 12, Ubuntu 22.04 and "
        "Raspberry Pi OS Bookworm ship a suitable python3."
    )


from .address import (
    DEFAULT_NETWORKS,
    AddressPolicy,
    AddressRefusal,
    AddressRefused,
    parse_networks,
    restricted_kind,
)
from .answer import PaymentResult, Status, interpret_answer
from .client import Probe, exchange, exchange_async, probe, probe_async
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
from .labels import application_label, failure_label, read_mode_label
from .receipt import decode_receipt, encode_receipt
from .redact import card_last4, escape_controls, redact_frame
from .request import (
    MAX_AMOUNT,
    PROTOCOL_VERSIONS,
    Direction,
    PaymentMode,
    PaymentRequest,
)

__all__ = [
    "MAX_SCAN_ADDRESSES",
    "Scan",
    "ScanRefused",
    "plan_scan",
    "scan",
    "suggested_network",
    "DEFAULT_NETWORKS",
    "MAX_AMOUNT",
    "MAX_ANSWER_SIZE",
    "NEED_DATA",
    "PROTOCOL_VERSIONS",
    "AddressPolicy",
    "AddressRefusal",
    "AddressRefused",
    "Answer",
    "AnswerDecoder",
    "AnswerError",
    "Direction",
    "Exchange",
    "ExchangeResult",
    "Outcome",
    "PaymentMode",
    "PaymentRequest",
    "PaymentResult",
    "Probe",
    "ProtocolError",
    "RequestError",
    "Status",
    "application_label",
    "card_last4",
    "decode_fields",
    "decode_receipt",
    "encode_fields",
    "encode_receipt",
    "escape_controls",
    "exchange",
    "exchange_async",
    "failure_label",
    "interpret_answer",
    "parse_networks",
    "probe",
    "probe_async",
    "read_mode_label",
    "redact_frame",
    "restricted_kind",
]
