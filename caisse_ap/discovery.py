"""Find the terminals of a network: who accepts a connection on the Caisse-AP port.

A terminal that waits for its till listens on one TCP port (8888 on most).
The finder opens a connection to each address of one small network and
closes it at once: nothing is sent, so no terminal shows or prints anything.

It is bounded, since whoever starts it makes this machine knock on many
doors: at most :data:`MAX_ADDRESSES` addresses (an IPv4 /22), at most
:data:`CONCURRENCY` connections at a time, and the whole scan ends after
``budget`` seconds whatever is left. The address policy judges every address
before any connection: a network the policy refuses is refused whole (it is
not a terminal network), and the policy's single exceptions inside an
allowed one (this machine's own addresses, a cloud metadata address) are
left out.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass

from .address import AddressPolicy, IPAddress, IPNetwork

MAX_ADDRESSES = 1024  # an IPv4 /22: a shop's network, never a company's
CONCURRENCY = 128
CONNECT_TIMEOUT = 0.5  # s: a terminal on the same LAN answers in a few ms
SCAN_BUDGET = 5.0  # s, the whole scan
# What a refused network's reason says, by the policy's kind of refusal.
SKIPPED_KINDS = ("own", "metadata")


class ScanRefused(ValueError):
    """The network asked for cannot be scanned; ``code`` says why.

    ``not_a_network``, ``too_wide`` (more than :data:`MAX_ADDRESSES`), or one
    of the address policy's kinds (``outside``, ``loopback``...) for the first
    address it refuses. Nothing was sent.
    """

    def __init__(self, code: str, network: str, detail: str = "") -> None:
        super().__init__(f"{network}: {code}{f' ({detail})' if detail else ''}")
        self.code = code
        self.network = network
        self.detail = detail


@dataclass(frozen=True)
class Scan:
    """What a scan found: ``found``, the addresses that accepted a connection
    (sorted); ``probed``, how many addresses were tried; ``complete``, False
    when the budget ran out first; ``seconds``, how long it took."""

    network: str
    port: int
    found: tuple[str, ...]
    probed: int
    complete: bool
    seconds: float


def parse_network(text: object) -> IPNetwork:
    """The network ``text`` spells (``192.168.1.0/24``; a lone address is its
    own /32 or /128). Raises :class:`ScanRefused` ``not_a_network``."""
    if not isinstance(text, str) or not text.strip() or len(text) > 64:
        raise ScanRefused("not_a_network", str(text)[:64])
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ScanRefused("not_a_network", text.strip()) from None


def targets(
    network: IPNetwork, policy: AddressPolicy, own_check: bool = True
) -> list[str]:
    """The addresses of ``network`` to try, in order, as the policy allows.

    Raises :class:`ScanRefused` when the network is too wide, or when the
    policy refuses one of its addresses for another reason than being this
    machine's own or a metadata address (those are only left out, unless
    nothing else is left).
    """
    if network.num_addresses > MAX_ADDRESSES:
        raise ScanRefused(
            "too_wide", str(network), f"at most {MAX_ADDRESSES} addresses"
        )
    addresses = list(network.hosts()) or [network.network_address]
    kept, skipped = [], None
    for address in addresses:
        kind = policy.kind(str(address), own_check=own_check)
        if kind is None:
            kept.append(str(address))
        elif kind not in SKIPPED_KINDS:
            raise ScanRefused(kind, str(network), str(address))
        else:
            skipped = skipped or (kind, str(address))
    if not kept and skipped:
        # Nothing left to try: say why rather than "no terminal found".
        raise ScanRefused(skipped[0], str(network), skipped[1])
    return kept


async def _accepts(address: str, port: int, timeout: float) -> bool:
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(address, port), timeout
        )
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return True


async def find_listeners(
    addresses: Iterable[str],
    port: int,
    *,
    timeout: float = CONNECT_TIMEOUT,
    concurrency: int = CONCURRENCY,
    budget: float = SCAN_BUDGET,
) -> tuple[list[str], bool]:
    """``(accepting, complete)``: which of ``addresses`` accept a connection
    on ``port`` (nothing is sent), and whether all were tried in ``budget``."""
    gate = asyncio.Semaphore(concurrency)

    async def knock(address: str) -> str | None:
        async with gate:
            return address if await _accepts(address, port, timeout) else None

    tasks = [asyncio.ensure_future(knock(address)) for address in addresses]
    if not tasks:
        return [], True
    done, pending = await asyncio.wait(tasks, timeout=budget)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    found = [task.result() for task in done if not task.cancelled() and task.result()]
    return sorted(found, key=_sort_key), not pending


def suggested_network(
    policy: AddressPolicy, near: str | None = None, own: bool = True
) -> str | None:
    """The /24 to scan first: around ``near`` (a terminal's address) when the
    policy allows it, else (``own``) around this machine's first address the
    policy allows (an Odoo server or a relay on the shop's network), else
    None."""
    candidates = [near] if near else []
    if own:
        candidates += _own_ipv4_addresses()
    for text in candidates:
        try:
            address = ipaddress.ip_address(text or "")
        except ValueError:
            continue
        prefix = 24 if address.version == 4 else 120
        network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
        try:
            targets(network, policy, own_check=False)
        except ScanRefused:
            continue
        return str(network)
    return None


def _own_ipv4_addresses() -> list[str]:
    """This machine's IPv4 addresses that its name resolves to, and the one it
    would send from towards each private network (a UDP socket that is only
    connected, never written to, asks the routing table without any packet)."""
    found: list[str] = []
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        infos = []
    found += [info[4][0] for info in infos]
    for probe in ("10.255.255.255", "172.31.255.255", "192.168.255.255"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.connect((probe, 9))
                found.append(sock.getsockname()[0])
            except OSError:
                pass
    return list(dict.fromkeys(found))


def _sort_key(text: str) -> tuple[int, IPAddress]:
    address = ipaddress.ip_address(text)
    return address.version, address


def plan_scan(
    network_text: object, port: object, policy: AddressPolicy, own_check: bool = True
) -> tuple[IPNetwork, list[str]]:
    """The network and the addresses a scan would try, checked as :func:`scan`
    checks them (a server judges a relay's search with it, before asking)."""
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ScanRefused("bad_port", str(network_text)[:64], str(port)[:16])
    network = parse_network(network_text)
    return network, targets(network, policy, own_check)


def scan(
    network_text: object,
    port: int,
    policy: AddressPolicy,
    *,
    own_check: bool = True,
    timeout: float = CONNECT_TIMEOUT,
    budget: float = SCAN_BUDGET,
) -> Scan:
    """Blocking scan of one network (see the module). Raises
    :class:`ScanRefused` before any connection when it may not be scanned."""
    network, addresses = plan_scan(network_text, port, policy, own_check)
    started = time.monotonic()
    found, complete = asyncio.run(
        find_listeners(addresses, port, timeout=timeout, budget=budget)
    )
    return Scan(
        network=str(network),
        port=port,
        found=tuple(found),
        probed=len(addresses),
        complete=complete,
        seconds=time.monotonic() - started,
    )
