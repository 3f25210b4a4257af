"""A JSON-RPC client that calls the addon as the POS does (start, status, cancel)."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from settings import HOST, LOGIN, PASSWORD


# -- JSON-RPC, like the POS ----------------------------------------------------
class RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        data = error.get("data") or {}
        self.name = data.get("name", "")
        self.message = data.get("message") or error.get("message", "")
        super().__init__(f"{self.name}: {self.message}")


class Session:
    """An authenticated browser-like session: one new connection per request."""

    def __init__(self, port: int, db: str, timeout: float = 150.0) -> None:
        self.port = port
        self.db = db
        self.timeout = timeout
        self.cookie = ""
        self.uid: int | None = None
        self._ids = 0

    def post(self, path: str, params: dict[str, Any]) -> Any:
        self._ids += 1
        body = json.dumps(
            {"jsonrpc": "2.0", "method": "call", "params": params, "id": self._ids}
        )
        headers = {"Content-Type": "application/json", "Connection": "close"}
        if self.cookie:
            headers["Cookie"] = f"session_id={self.cookie}"
        conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            conn.request("POST", path, body.encode(), headers)
            response = conn.getresponse()
            payload = response.read()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie" and value.startswith("session_id="):
                    self.cookie = value.split(";", 1)[0].split("=", 1)[1]
        finally:
            conn.close()
        if response.status != 200:
            raise RpcError({"message": f"HTTP {response.status}: {payload[:200]!r}"})
        data = json.loads(payload)
        if "error" in data:
            raise RpcError(data["error"])
        return data.get("result")

    def authenticate(self, login: str = LOGIN, password: str = PASSWORD) -> Session:
        result = self.post(
            "/web/session/authenticate",
            {"db": self.db, "login": login, "password": password},
        )
        self.uid = result["uid"]
        return self

    def call(
        self,
        model: str,
        method: str,
        args: list[Any],
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        return self.post(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )

    # The three RPCs of the contract, as the POS calls them.
    def caisse_ap_start(self, method_id: int, data: dict[str, Any]) -> dict[str, Any]:
        return self.call("pos.payment.method", "caisse_ap_start", [[method_id], data])

    def caisse_ap_status(self, method_id: int, payment_uuid: str) -> dict[str, Any]:
        return self.call(
            "pos.payment.method", "caisse_ap_status", [[method_id], payment_uuid]
        )

    def caisse_ap_cancel(self, method_id: int, payment_uuid: str) -> dict[str, Any]:
        return self.call(
            "pos.payment.method", "caisse_ap_cancel", [[method_id], payment_uuid]
        )


def authenticate_many(
    port: int, db: str, count: int, parallel: int = 4
) -> list[Session]:
    """``count`` sessions, logged in ``parallel`` at a time."""
    with ThreadPoolExecutor(min(parallel, count) or 1) as pool:
        return list(pool.map(lambda _i: Session(port, db).authenticate(), range(count)))


def payment_data(
    lane: dict[str, Any], amount: float, *, retry: bool = False
) -> dict[str, Any]:
    """The ``data`` of caisse_ap_start, as the POS builds it: the lane's own result
    channel (like a tab's) and a new start key (like a click's)."""
    channel = lane.setdefault(
        "result_channel", f"l10n_fr_pos_caisse_ap_ip.result.{uuid.uuid4().hex}"
    )
    return {
        "start_key": uuid.uuid4().hex,
        "payment_uuid": str(uuid.uuid4()),
        "order_uuid": str(uuid.uuid4()),
        "amount": amount,
        "pos_session_id": lane["session_id"],
        "retry": retry,
        "result_channel": channel,
    }


NETWORK_ERRORS = (OSError, http.client.HTTPException)


def wait_final(
    session: Session,
    method_id: int,
    payment_uuid: str,
    *,
    timeout: float,
    interval: float = 0.1,
    slow_interval: float | None = None,
    fast_from: float | None = None,
    network_errors: list[str] | None = None,
) -> tuple[dict[str, Any] | None, float, int]:
    """Poll the status RPC until a final state: (dict or None, wall time seen, polls).

    Like the POS: every ``slow_interval`` until ``fast_from`` (wall clock), else
    and while pending every ``interval``; a poll lost at the TCP level is noted
    in ``network_errors`` (when given) and polling goes on."""
    deadline = time.monotonic() + timeout
    polls = 0
    if slow_interval:
        time.sleep(interval)  # like the POS, which asks only after a first pause
    while time.monotonic() < deadline:
        polls += 1
        try:
            status = session.caisse_ap_status(method_id, payment_uuid)
        except NETWORK_ERRORS as error:
            if network_errors is None:
                raise
            network_errors.append(f"status: {type(error).__name__}: {error}")
            time.sleep(interval)
            continue
        seen = time.time()
        if status.get("final"):
            return status, seen, polls
        wait = interval
        pending = status.get("state") == "pending"
        if slow_interval and fast_from and seen < fast_from and not pending:
            wait = min(slow_interval, max(interval, fast_from - seen))
        time.sleep(wait)
    return None, time.time(), polls


def pay(
    session: Session,
    lane: dict[str, Any],
    data: dict[str, Any],
    *,
    timeout: float,
    interval: float,
) -> dict[str, Any] | None:
    """Start a payment, then poll its status until final (None: not in time)."""
    first = session.caisse_ap_start(lane["method_id"], data)
    if first.get("final"):
        return first
    final, _seen, _polls = wait_final(
        session,
        lane["method_id"],
        data["payment_uuid"],
        timeout=timeout,
        interval=interval,
    )
    return final
