"""Screenshots taken by the browser while a tour runs (the README's images).

A tour step logs ``caisse_ap_screenshot:<name>``; the browser then saves the page as
``<name>.png`` and marks the page, so that the tour goes on only once the image is
written. Images go to $CAISSE_AP_SCREENSHOTS_DIR (dev/screenshots.py sets it to the
addon's static/description), else to a temporary folder: either way the test
checks them.
"""

import base64
import json
import os
import struct
import tempfile
from pathlib import Path
from unittest.mock import patch

from PIL import Image

from odoo.tests.common import ChromeBrowser

MARK = "caisse_ap_screenshot:"


def png_size(data):
    """(width, height) of a PNG image; AssertionError when it is not one."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return struct.unpack(">II", data[16:24])


# Around an element's screenshot, so that its border and shadow show.
CLIP_MARGIN = 6


def _padded(rect):
    """The element's rectangle, ``CLIP_MARGIN`` wider on every side."""
    return {
        "x": max(rect["x"] - CLIP_MARGIN, 0),
        "y": max(rect["y"] - CLIP_MARGIN, 0),
        "width": rect["width"] + 2 * CLIP_MARGIN,
        "height": rect["height"] + 2 * CLIP_MARGIN,
    }


def stack_images(paths, target, gap=12):
    """Write the images ``paths`` one below the other, on white, as ``target``."""
    images = [Image.open(path).convert("RGB") for path in paths]
    width = max(image.width for image in images)
    height = sum(image.height for image in images) + gap * (len(images) - 1)
    sheet = Image.new("RGB", (width, height), "white")
    top = 0
    for image in images:
        sheet.paste(image, (0, top))
        top += image.height + gap
    sheet.save(target, optimize=True)


class ScreenshotMixin:
    """Mix into an HttpCase: ``self.directory`` and ``_capturing_console()``."""

    # Screenshots taller than the tours' window: {name: height in pixels}.
    TALL = {}

    def setUp(self):
        super().setUp()
        target = os.environ.get("CAISSE_AP_SCREENSHOTS_DIR")
        if target:
            self.directory = Path(target)
        else:
            tmp = tempfile.TemporaryDirectory(prefix="caisse_ap_shots_")
            self.addCleanup(tmp.cleanup)
            self.directory = Path(tmp.name)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _capturing_console(self):
        """Patch the browser's console handler: it takes the screenshots tours ask."""
        original = ChromeBrowser._handle_console
        directory = self.directory

        def handle_console(browser, **params):
            args = params.get("args") or [{}]
            value = str(args[0].get("value", "")) if params.get("type") == "log" else ""
            if value.startswith(MARK):
                name, _, clip = value[len(MARK) :].partition("@")
                capture = {"format": "png"}
                if clip:
                    capture["clip"] = {**_padded(json.loads(clip)), "scale": 1}
                if name in self.TALL:
                    # The whole form, not its first screen: a taller window.
                    browser._websocket_send(
                        "Emulation.setDeviceMetricsOverride",
                        params={
                            "width": 1366,
                            "height": self.TALL[name],
                            "deviceScaleFactor": 1,
                            "mobile": False,
                        },
                    )
                future = browser._websocket_send(
                    "Page.captureScreenshot", params=capture, with_future=True
                )

                def save(done, name=name):
                    (directory / f"{name}.png").write_bytes(
                        base64.b64decode(done.result()["data"])
                    )
                    if name in self.TALL:
                        browser._websocket_send("Emulation.clearDeviceMetricsOverride")
                    browser._websocket_send(
                        "Runtime.evaluate",
                        params={
                            "expression": "document.body.dataset.caisseApShot = "
                            + json.dumps(name)
                        },
                    )

                future.add_done_callback(save)
            return original(browser, **params)

        return patch.object(ChromeBrowser, "_handle_console", handle_console)
