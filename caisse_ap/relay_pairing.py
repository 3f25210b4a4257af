"""Pairing a shop relay with a short code, instead of copying its token.

On the relay's page in Odoo a Point of Sale administrator asks for a pairing
code (``KQ7M-4DXP``: readable aloud, valid :data:`CODE_MINUTES` minutes, single
use). On the shop's machine, as root, in the relay's folder::

    python3 -m caisse_ap.relay pair --server https://example.odoo.com

asks for the code (typed at its prompt, or the first line of a pipe), exchanges
it for the relay's token and writes the environment file that the systemd
service reads (``CAISSE_AP_RELAY_TOKEN``, ``CAISSE_AP_RELAY_SERVER``; its other
lines, such as ``HTTPS_PROXY``, are kept), owner-only (0600) and replaced in one
rename, so that no reader ever sees half a file. The token is never printed: it
goes from Odoo's answer to that file only. The code is not on the command line,
which ``ps`` shows to every user of the machine and the shell keeps in its
history: whoever sends a valid code first gets the token.

The exchange (same rules as :mod:`caisse_ap.relay_wire`: HTTPS, except to
this very machine; no redirect followed): ``POST`` :data:`PATH_PAIR`
``{"code"}`` -> ``{"token", "relay"}``; a wrong, expired or used code gets 403
(after a pause), too many wrong codes 429, a body that is no code 400.

The code: :data:`CODE_LENGTH` symbols of Crockford's base 32 (digits and
letters without I, L, O, U): 32**8 = 2**40, about 1.1e12 codes. Read back,
case, spaces and dashes do not matter, and O, I, L are read as 0, 1, 1.
Standard library only (it runs on the relay's machine).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import ssl
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import TextIO

from .relay import VERSION, _NoRedirect, check_server_url

PATH_PAIR = "/caisse_ap/relay/pair"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
CODE_MINUTES = 15
# What a reader may type for a symbol it heard or misread.
READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})
ENV_FILE = Path("/etc/caisse-ap-relay.env")
TOKEN_VARIABLE = "CAISSE_AP_RELAY_TOKEN"
SERVER_VARIABLE = "CAISSE_AP_RELAY_SERVER"
TIMEOUT = 30.0
# What Odoo's tokens are made of (secrets.token_urlsafe): nothing that could
# end a line of the environment file or start another.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,200}")


class PairingError(Exception):
    """Pairing failed; the message says what to do."""


def new_code() -> str:
    """A fresh code, as shown: ``KQ7M-4DXP``."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return shown(symbols)


def shown(code: str) -> str:
    """A normalised code in two groups of four, easier to read aloud."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def normalised(text: object) -> str | None:
    """The code's symbols as stored, or None when ``text`` cannot be a code."""
    if not isinstance(text, str) or len(text) > 4 * CODE_LENGTH:
        return None
    code = text.upper().translate(READ_AS)
    if len(code) != CODE_LENGTH or any(symbol not in ALPHABET for symbol in code):
        return None
    return code


def pair(server: str, code: str, timeout: float = TIMEOUT) -> dict:
    """Exchange ``code`` for the relay's token: ``{"token", "relay"}``."""
    server = check_server_url(server)
    symbols = normalised(code)
    if not symbols:
        raise PairingError(
            f"{code!r} is not a pairing code: {CODE_LENGTH} letters and digits "
            "such as KQ7M-4DXP, as Odoo shows it"
        )
    opener = urllib.request.build_opener(
        _NoRedirect(),
        urllib.request.HTTPSHandler(context=ssl.create_default_context()),
    )
    request = urllib.request.Request(
        server + PATH_PAIR,
        data=json.dumps({"code": symbols}).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": f"caisse-ap-relay/{VERSION}",
        },
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raise PairingError(_refusal(error)) from None
    except (OSError, ValueError) as error:
        raise PairingError(f"cannot pair with {server}: {error}") from None
    token = answer.get("token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not TOKEN_SHAPE.fullmatch(token):
        raise PairingError(f"{server} did not answer with a token")
    return answer


def _refusal(error: urllib.error.HTTPError) -> str:
    if 300 <= error.code < 400:
        return (
            f"the server redirects to {error.headers.get('Location', '?')}: give "
            "that address as --server (no redirect is followed)"
        )
    try:
        answer = json.loads(error.read())
    except (ValueError, OSError):
        answer = None
    message = answer.get("error") if isinstance(answer, dict) else None
    if error.code == 403 and message:
        return f"Odoo refused the code ({message}): ask for a new one"
    return f"Odoo refused the pairing (HTTP {error.code}: {message or error.reason})"


def read_code(stdin: TextIO, prompts: TextIO) -> str:
    """The code typed at a prompt (a terminal) or the first line of a pipe."""
    if stdin.isatty():
        print("Pairing code shown in Odoo: ", end="", file=prompts, flush=True)
    # One line, and a bounded one: a code is 9 characters.
    line = stdin.readline(16 * CODE_LENGTH).strip()
    if not line:
        raise PairingError(
            "no pairing code: type the code Odoo shows at the prompt, or give it "
            "on standard input (echo KQ7M-4DXP | python3 -m caisse_ap.relay pair ...)"
        )
    return line


def check_writable(path: Path) -> None:
    """Raise OSError now if ``path`` cannot be replaced: once Odoo has answered,
    the code is used and the relay's previous token no longer works."""
    path = Path(os.path.realpath(path))  # a link: its target is replaced
    if not os.access(path.parent, os.W_OK | os.X_OK) or (
        path.exists() and not os.access(path, os.R_OK)
    ):
        raise PermissionError(13, "Permission denied", str(path))


def write_env_file(path: Path, values: dict[str, str]) -> None:
    """Set ``values`` in the environment file ``path``, keeping its other lines.

    Written to a new file of mode 0600 beside it, then renamed over it: the
    token is never in a file that others may read, and the service never
    reads half a file. A link (to a file kept elsewhere, such as a
    configuration managed with others) stays: its target is replaced.
    """
    path = Path(os.path.realpath(path))
    kept = []
    if path.exists():
        for line in path.read_text().splitlines():
            name = line.split("=", 1)[0].strip()
            if name not in values:
                kept.append(line)
    text = "\n".join([*kept, *(f"{k}={v}" for k, v in values.items())]) + "\n"
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python3 -m caisse_ap.relay pair",
        description="Pair this machine as a shop relay: exchange the code shown on "
        "the relay's page in Odoo for its token, written to the environment file "
        "(never printed).",
    )
    parser.add_argument(
        "--server", required=True, help="Odoo's URL, e.g. https://example.odoo.com"
    )
    parser.add_argument(
        "--code",
        help="avoid: a command line is shown by ps and kept in the shell history "
        "(kept for the command older versions of Odoo show). Without it, the code "
        "is read from standard input: typed at the prompt, or piped by a script",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=ENV_FILE,
        help=f"the relay's environment file (default {ENV_FILE}, which the "
        "systemd service reads)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        server = check_server_url(args.server)
        check_writable(args.env_file)
        code = args.code or read_code(sys.stdin, sys.stderr)
        answer = pair(server, code)
        write_env_file(
            args.env_file, {TOKEN_VARIABLE: answer["token"], SERVER_VARIABLE: server}
        )
    except (ValueError, PairingError) as error:
        print(f"pairing failed: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(
            f"cannot write {args.env_file} ({error.strerror}): run as root "
            "(sudo -i), or give another --env-file",
            file=sys.stderr,
        )
        return 1
    relay = answer.get("relay")
    print(
        f"paired as the shop relay {relay if isinstance(relay, str) else '?'!r} of "
        f"{server}; its token is in {args.env_file} (mode 0600). Start the relay "
        "(systemctl enable --now caisse-ap-relay), or restart it if it runs."
    )
    return 0
