"""A headless Chromium driven over the DevTools protocol (CDP), for the benchmarks.

One browser process; each till gets its own browser context (its own cookies,
storage and bus SharedWorker, like a separate machine) with one tab. The CDP
client is one websocket to the browser with flat sessions: every call names
the tab it is for.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from typing import Any

import websocket
from odoo_server import free_port
from settings import HOST, log, prerequisites

CHROMIUM = "/usr/bin/chromium"
# What Odoo's own test browser passes, plus the DNS rules of dev/prerequisites.py
# (without internet, Chromium waits seconds on DNS for web fonts otherwise).
FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-extensions"
    " --disable-background-networking --disable-component-update --disable-sync"
    " --disable-default-apps --disable-breakpad --disable-translate"
    # A till is never a background tab: no timer throttling in any of them.
    " --disable-background-timer-throttling --disable-backgrounding-occluded-windows"
    " --disable-renderer-backgrounding"
    " --no-first-run --no-default-browser-check --mute-audio --window-size=1366,768"
).split() + [f"--host-resolver-rules={prerequisites.CHROME_RESOLVER_RULES}"]


class CdpError(Exception):
    pass


def exception_text(details: dict[str, Any]) -> str:
    """What a page's exception says (CDP's exceptionDetails)."""
    return details.get("exception", {}).get("description") or details.get("text", "")


class Chromium:
    """The browser process and its CDP connection; ``with Chromium() as browser``."""

    def __init__(self, executable: str = CHROMIUM) -> None:
        self.executable = shutil.which(executable) or executable
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="caisse_ap_bench_chromium_")
        self.proc: subprocess.Popen[bytes] | None = None
        self.ws: websocket.WebSocket | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._pending: dict[int, dict[str, Any]] = {}
        self._done = threading.Condition(self._lock)
        self._reader: threading.Thread | None = None
        self.console: list[str] = []  # errors seen in the tabs, for the log

    # -- life cycle ---------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        self.proc = subprocess.Popen(  # noqa: S603
            [
                self.executable,
                *FLAGS,
                f"--remote-debugging-address={HOST}",
                f"--remote-debugging-port={self.port}",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        url = ""
        while time.monotonic() < deadline and not url:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Chromium exited with {self.proc.returncode}")
            with contextlib.suppress(OSError, ValueError):
                with urllib.request.urlopen(  # noqa: S310 (local address)
                    f"http://{HOST}:{self.port}/json/version", timeout=2
                ) as response:
                    url = json.load(response)["webSocketDebuggerUrl"]
            if not url:
                time.sleep(0.2)
        if not url:
            raise RuntimeError(
                f"Chromium did not open its debugging port in {timeout} s"
            )
        self.ws = websocket.create_connection(url, timeout=None, suppress_origin=True)
        self._reader = threading.Thread(target=self._read, name="cdp", daemon=True)
        self._reader.start()
        log(f"Chromium pid {self.proc.pid} started (CDP port {self.port})")

    def stop(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.call("Browser.close", timeout=5)
            with contextlib.suppress(Exception):
                self.ws.close()
        if self.proc is not None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the protocol -------------------------------------------------------
    def _read(self) -> None:
        assert self.ws is not None
        while True:
            try:
                message = json.loads(self.ws.recv())
            except Exception:  # closed: wake every caller
                with self._done:
                    for slot in self._pending.values():
                        slot.setdefault("error", {"message": "CDP connection closed"})
                    self._done.notify_all()
                return
            if "id" in message:
                with self._done:
                    slot = self._pending.get(message["id"])
                    if slot is not None:
                        slot.update(message, answered=True)
                        self._done.notify_all()
            else:
                self._event(message)

    def _event(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        params = message.get("params", {})
        text = ""
        if method == "Runtime.exceptionThrown":
            text = exception_text(params.get("exceptionDetails", {}))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            text = " ".join(
                str(arg.get("value", arg.get("description", "")))
                for arg in params.get("args", [])
            )
        if text:
            self.console.append(text[:500])

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        assert self.ws is not None
        ident = next(self._ids)
        message: dict[str, Any] = {
            "id": ident,
            "method": method,
            "params": params or {},
        }
        if session:
            message["sessionId"] = session
        slot: dict[str, Any] = {}
        with self._done:
            self._pending[ident] = slot
        try:
            self.ws.send(json.dumps(message))
            with self._done:
                if not self._done.wait_for(
                    lambda: "answered" in slot or "error" in slot, timeout
                ):
                    raise CdpError(f"{method}: no answer in {timeout} s")
        finally:
            with self._done:
                self._pending.pop(ident, None)
        if "error" in slot:
            raise CdpError(f"{method}: {slot['error'].get('message')}")
        return slot.get("result", {})

    # -- tabs ---------------------------------------------------------------
    def new_tab(self, cookies: list[dict[str, Any]] = ()) -> Tab:  # type: ignore[assignment]
        """A tab in a new browser context holding ``cookies``."""
        context = self.call("Target.createBrowserContext")["browserContextId"]
        if cookies:
            self.call(
                "Storage.setCookies",
                {"cookies": list(cookies), "browserContextId": context},
            )
        target = self.call(
            "Target.createTarget", {"url": "about:blank", "browserContextId": context}
        )["targetId"]
        session = self.call(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        )["sessionId"]
        tab = Tab(self, context, target, session)
        tab.call("Runtime.enable")
        tab.call("Page.enable")
        return tab


class Tab:
    """One tab in its own browser context."""

    def __init__(self, browser: Chromium, context: str, target: str, session: str):
        self.browser = browser
        self.context = context
        self.target = target
        self.session = session

    def call(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 30.0
    ) -> dict[str, Any]:
        return self.browser.call(method, params, self.session, timeout)

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """The JSON value of ``expression`` (awaited when it is a promise)."""
        params = {"expression": expression, "awaitPromise": True}
        params |= {"returnByValue": True, "timeout": int(timeout * 1000)}
        result = self.call("Runtime.evaluate", params, timeout=timeout + 5)
        if "exceptionDetails" in result:
            raise CdpError(f"in the page: {exception_text(result['exceptionDetails'])}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float, interval: float = 0.25) -> Any:
        """Evaluate ``expression`` until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        last_error = ""
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except CdpError as error:  # the page is still loading
                last_error = str(error)
                value = None
            if value:
                return value
            time.sleep(interval)
        raise CdpError(f"not true after {timeout:.0f} s: {expression} {last_error}")

    def close(self) -> None:
        with contextlib.suppress(CdpError):
            self.browser.call("Target.closeTarget", {"targetId": self.target})
        with contextlib.suppress(CdpError):
            self.browser.call(
                "Target.disposeBrowserContext", {"browserContextId": self.context}
            )
