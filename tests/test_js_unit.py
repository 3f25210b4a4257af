"""The POS's waiting logic (static/src/app/payment_wait.js), unit tested with hoot."""

import re
from pathlib import Path

from odoo.tests import HttpCase, tagged

from .tour_support import BrowserTourMixin

UNIT_TESTS = Path(__file__).parents[1] / "static" / "tests" / "unit"
# Every suite of this addon is named after it: hoot runs those and nothing else.
SUITE_PREFIX = "l10n_fr_pos_caisse_ap_ip"


def _hoot_error_checker(message):
    # As Odoo's own suite: hoot's own lines are reports, the final one is the failure.
    return (
        "[HOOT]" not in message
        or message == "[HOOT] test failed (see above for details)"
    )


@tagged("post_install", "-at_install")
class TestJsUnit(BrowserTourMixin, HttpCase):
    # The mixin's patience matters most here: where the tours are not selected
    # (dev/run_odoo_pythons.py), this is the run's first, cold, Chromium start.
    def test_payment_wait_unit_tests(self):
        written = sum(
            len(re.findall(r"^\s*test\(", path.read_text(), re.MULTILINE))
            for path in UNIT_TESTS.glob("*.test.js")
        )
        self.assertGreater(written, 0)
        with self.assertLogs(f"{self._logger.name}.browser", level="INFO") as logs:
            self.browser_js(
                "/web/tests?headless&loglevel=2&preset=desktop&timeout=15000"
                f"&filter={SUITE_PREFIX}",
                "",
                "",
                login="admin",
                timeout=600,
                success_signal="[HOOT] test suite succeeded",
                error_checker=_hoot_error_checker,
            )
        passed = [
            int(found.group(1))
            for found in map(re.compile(r"passed (\d+) tests").search, logs.output)
            if found
        ]
        # A filter that matched nothing would "succeed" too.
        self.assertEqual(passed, [written], "every unit test ran and passed")
