"""What every browser test needs before Chromium starts, and after it stops.

Warm-up: the browser's first burst of parallel requests makes several server
threads compute Odoo's lazy, manifest-parsing caches at once (the map of static
folders, the manifests themselves, the routing map). CPython 3.11's AST
construction is not thread-safe (gh-106905), so one of those requests can fail
at random and the POS never loads. Computing them once in the test process,
before any browser opens, removes the race without patching Odoo.

Patience: Odoo waits 10 s for Chromium to write its DevTools port, then
skips the tour. A cold first start on a loaded machine (font cache, disk) can
take longer, and a skipped tour proves nothing, so tours wait up to a minute.

Watch: a request that fails on the server while a tour runs fails the test with
the server's message, so a tour never passes or times out for a reason nobody
sees.
"""

import logging
import os

import odoo
from odoo import http
from odoo.modules import module as odoo_module
from odoo.tests import common as odoo_test_common

_warmed = False

CHROME_START_PATIENCE_SECONDS = 60


def warm_lazy_server_caches(env):
    """Compute, once per process, what the browser's first requests would compute."""
    global _warmed  # pylint: disable=global-statement
    if _warmed:
        return
    for addons_path in odoo.addons.__path__:
        for name in os.listdir(addons_path):
            odoo_module.get_manifest(name)
    # Lazy properties of the WSGI application: computed here, in one thread.
    http.root.statics  # noqa: B018  pylint: disable=pointless-statement
    http.root.nodb_routing_map  # noqa: B018  pylint: disable=pointless-statement
    env["ir.http"].routing_map()
    _warmed = True


class _RequestErrorCollector(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.messages = []

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f": {record.exc_info[0].__name__}: {record.exc_info[1]}"
        self.messages.append(text)


class BrowserTourMixin:
    """Mix into an HttpCase: warm the server before Chromium, fail on request errors."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        warm_lazy_server_caches(cls.env)
        cls._wait_longer_for_chrome()

    @classmethod
    def _wait_longer_for_chrome(cls):
        # Odoo reads these module globals each time it spawns Chromium.
        saved = (
            odoo_test_common.CHECK_BROWSER_ITERATIONS,
            odoo_test_common.BROWSER_WAIT,
        )
        iterations = int(
            CHROME_START_PATIENCE_SECONDS / odoo_test_common.CHECK_BROWSER_SLEEP
        )
        odoo_test_common.CHECK_BROWSER_ITERATIONS = max(saved[0], iterations)
        odoo_test_common.BROWSER_WAIT = max(saved[1], CHROME_START_PATIENCE_SECONDS)

        def restore():
            (
                odoo_test_common.CHECK_BROWSER_ITERATIONS,
                odoo_test_common.BROWSER_WAIT,
            ) = saved

        cls.addClassCleanup(restore)

    def setUp(self):
        super().setUp()
        collector = _RequestErrorCollector()
        http_logger = logging.getLogger("odoo.http")
        http_logger.addHandler(collector)
        self.addCleanup(http_logger.removeHandler, collector)
        self._request_errors = collector
        # Runs after the test body (cleanups run last in, first out).
        self.addCleanup(self._fail_on_request_errors)

    def _fail_on_request_errors(self):
        if self._request_errors.messages:
            self.fail(
                "the server failed a request during the tour: "
                + " | ".join(self._request_errors.messages)
            )
