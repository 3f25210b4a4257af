"""The relay's side of pairing: the code's shape, the exchange, the env file."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from caisse_ap import relay_pairing
from caisse_ap.relay_pairing import (
    ALPHABET,
    PATH_PAIR,
    PairingError,
    new_code,
    normalised,
    pair,
    write_env_file,
)

ROOT = Path(relay_pairing.__file__).resolve().parents[1]
CODE = "KQ7M4DXP"
TOKEN = "T0k3n_from-odoo-" + "x" * 27


class FakePairing:
    """Odoo's pairing route: one good code, answers scripted."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.status = 200
        self.answer: dict = {"token": TOKEN, "relay": "Shop relay"}
        self.redirect_to = ""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                fake.bodies.append(json.loads(self.rfile.read(length)))
                if fake.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", fake.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status, answer = fake.status, fake.answer
                if self.path != PATH_PAIR:
                    status, answer = 404, {"error": "no such endpoint"}
                elif fake.bodies[-1].get("code") != CODE and status == 200:
                    status, answer = 403, {"error": "wrong, expired or used code"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def odoo() -> Iterator[FakePairing]:
    fake = FakePairing()
    yield fake
    fake.stop()


def run_pair(*args: str, code: str = "") -> subprocess.CompletedProcess:
    """The command the dialog shows, as the shop's machine runs it, the code
    piped in (as a script gives it)."""
    return subprocess.run(
        [sys.executable, "-m", "caisse_ap.relay", "pair", *args],
        cwd=ROOT,
        input=code + "\n" if code else "",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_pair_in_a_terminal(code: str, *args: str) -> tuple[int, str, str]:
    """The command run in a terminal, whose user types ``code`` at the prompt:
    ``(exit status, what the terminal showed, stderr)``."""
    controller, terminal = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "caisse_ap.relay", "pair", *args],
        cwd=ROOT,
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        os.close(terminal)
        os.write(controller, code.encode() + b"\n")
        _out, err = process.communicate(timeout=60)
    shown = b""
    while select.select([controller], [], [], 0)[0]:
        try:
            chunk = os.read(controller, 1024)
        except OSError:  # Linux: the terminal's other end is closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    return process.returncode, shown.decode(errors="replace"), err


# ----------------------------------------------------------------------
def test_codes_are_read_aloud_and_typed_back_forgivingly() -> None:
    code = new_code()
    assert len(code) == 9 and code[4] == "-"
    assert set(code.replace("-", "")) <= set(ALPHABET)
    assert not set("ILOU") & set(ALPHABET)
    assert len(ALPHABET) ** relay_pairing.CODE_LENGTH == 2**40
    assert normalised("kq7m-4dxp") == CODE
    assert normalised(" KQ7M 4DXP ") == CODE
    # Misread letters are the digits they look like.
    assert normalised("OIL0-abcd") == "0110ABCD"
    for wrong in ("KQ7M-4DX", "KQ7M-4DXPP", "KQ7M-4DXU", "", None, 12345678, "K" * 99):
        assert normalised(wrong) is None, wrong


def test_codes_do_not_repeat() -> None:
    assert len({new_code() for _ in range(2000)}) == 2000


def test_pair_writes_the_env_file_owner_only_and_never_prints_the_token(
    odoo: FakePairing, tmp_path: Path
) -> None:
    env_file = tmp_path / "caisse-ap-relay.env"
    env_file.write_text("HTTPS_PROXY=http://proxy:3128\nCAISSE_AP_RELAY_TOKEN=old\n")
    env_file.chmod(0o644)
    inode = env_file.stat().st_ino
    done = run_pair("--server", odoo.url, "--env-file", str(env_file), code="kq7m-4dxp")
    assert done.returncode == 0, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    assert "Shop relay" in done.stdout and "systemctl enable --now" in done.stdout
    assert odoo.bodies == [{"code": CODE}]
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert env_file.stat().st_ino != inode, "a new file renamed over the old one"
    assert env_file.read_text().splitlines() == [
        "HTTPS_PROXY=http://proxy:3128",
        f"CAISSE_AP_RELAY_TOKEN={TOKEN}",
        f"CAISSE_AP_RELAY_SERVER={odoo.url}",
    ]
    assert [p.name for p in tmp_path.iterdir()] == [env_file.name], "no temporary left"


def test_the_env_file_is_never_readable_by_others_even_while_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A permissive umask does not matter: the new file is 0600 before a byte
    of the token is written into it."""
    modes = []
    real_fdopen = os.fdopen

    def fdopen(handle: int, *args: object, **kwargs: object) -> object:
        modes.append(stat.S_IMODE(os.fstat(handle).st_mode))
        return real_fdopen(handle, *args, **kwargs)

    monkeypatch.setattr(relay_pairing.os, "fdopen", fdopen)
    old_umask = os.umask(0)
    try:
        write_env_file(tmp_path / "relay.env", {"CAISSE_AP_RELAY_TOKEN": TOKEN})
    finally:
        os.umask(old_umask)
    assert modes == [0o600]
    assert stat.S_IMODE((tmp_path / "relay.env").stat().st_mode) == 0o600


def test_a_symlinked_env_file_stays_a_link_to_the_file_written(
    odoo: FakePairing, tmp_path: Path
) -> None:
    """The env file may be a link (to a configuration kept elsewhere): its
    target gets the token, in the same way, and the link stays."""
    kept = tmp_path / "kept"
    kept.mkdir()
    target = kept / "relay.env"
    target.write_text("HTTPS_PROXY=http://proxy:3128\n")
    target.chmod(0o644)
    inode = target.stat().st_ino
    (tmp_path / "etc").mkdir()
    link = tmp_path / "etc" / "caisse-ap-relay.env"
    link.symlink_to(Path("..", "kept", "relay.env"))
    done = run_pair("--server", odoo.url, "--env-file", str(link), code=CODE)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink(), "the link was replaced by a file"
    assert os.readlink(link) == str(Path("..", "kept", "relay.env"))
    assert target.read_text().splitlines() == [
        "HTTPS_PROXY=http://proxy:3128",
        f"CAISSE_AP_RELAY_TOKEN={TOKEN}",
        f"CAISSE_AP_RELAY_SERVER={odoo.url}",
    ]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_ino != inode, "a new file renamed over the old one"
    assert [p.name for p in kept.iterdir()] == ["relay.env"], "no temporary left"
    assert [p.name for p in (tmp_path / "etc").iterdir()] == [link.name]


def test_a_link_to_a_file_not_written_yet_creates_it(
    odoo: FakePairing, tmp_path: Path
) -> None:
    target = tmp_path / "kept" / "relay.env"
    target.parent.mkdir()
    link = tmp_path / "caisse-ap-relay.env"
    link.symlink_to(target)
    done = run_pair("--server", odoo.url, "--env-file", str(link), code=CODE)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert f"CAISSE_AP_RELAY_TOKEN={TOKEN}" in target.read_text()


def test_a_refused_code_leaves_the_env_file_alone(
    odoo: FakePairing, tmp_path: Path
) -> None:
    env_file = tmp_path / "relay.env"
    env_file.write_text("CAISSE_AP_RELAY_TOKEN=kept\n")
    done = run_pair("--server", odoo.url, "--env-file", str(env_file), code="AAAA-BBBB")
    assert done.returncode == 1
    assert "wrong, expired or used code" in done.stderr
    assert "ask for a new one" in done.stderr
    assert env_file.read_text() == "CAISSE_AP_RELAY_TOKEN=kept\n"


def test_the_code_typed_at_the_prompt_pairs(odoo: FakePairing, tmp_path: Path) -> None:
    env_file = tmp_path / "relay.env"
    status, shown, err = run_pair_in_a_terminal(
        "kq7m-4dxp", "--server", odoo.url, "--env-file", str(env_file)
    )
    assert status == 0, err
    assert err.startswith("Pairing code shown in Odoo: "), "the prompt, on stderr"
    assert "kq7m-4dxp" in shown, "the terminal echoes what its user types"
    assert odoo.bodies == [{"code": CODE}]
    assert f"{relay_pairing.TOKEN_VARIABLE}={TOKEN}" in env_file.read_text()


def test_a_piped_code_pairs_without_a_prompt(odoo: FakePairing, tmp_path: Path) -> None:
    done = run_pair(
        "--server", odoo.url, "--env-file", str(tmp_path / "relay.env"), code=CODE
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert odoo.bodies == [{"code": CODE}]


def test_no_code_on_standard_input_sends_nothing(
    odoo: FakePairing, tmp_path: Path
) -> None:
    for given in ("", "\n", "   \n"):
        done = subprocess.run(
            [sys.executable, "-m", "caisse_ap.relay", "pair", "--server", odoo.url,
             "--env-file", str(tmp_path / "relay.env")],
            cwd=ROOT, input=given, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert done.returncode == 1, given
        assert "no pairing code" in done.stderr
    assert odoo.bodies == []
    assert not (tmp_path / "relay.env").exists()


def test_the_code_option_of_older_dialogs_still_pairs(
    odoo: FakePairing, tmp_path: Path
) -> None:
    """Odoo 18.0.3.4.0 shows ``--code``; the relay is updated before Odoo."""
    env_file = tmp_path / "relay.env"
    done = run_pair("--server", odoo.url, "--code", CODE, "--env-file", str(env_file))
    assert done.returncode == 0, done.stderr
    assert odoo.bodies == [{"code": CODE}]


def test_plain_http_to_another_machine_is_refused_before_sending(
    odoo: FakePairing, tmp_path: Path
) -> None:
    done = run_pair(
        "--server", "http://example.odoo.com",
        "--env-file", str(tmp_path / "relay.env"), code=CODE,
    )  # fmt: skip
    assert done.returncode == 1
    assert "HTTPS" in done.stderr
    assert not (tmp_path / "relay.env").exists()


def test_a_redirect_is_not_followed(odoo: FakePairing) -> None:
    thief = FakePairing()
    try:
        odoo.redirect_to = thief.url + PATH_PAIR
        with pytest.raises(PairingError, match="redirects to"):
            pair(odoo.url, CODE)
        assert thief.bodies == [], "the code went nowhere else"
    finally:
        thief.stop()


def test_an_answer_that_is_no_token_is_refused(odoo: FakePairing) -> None:
    for token in (None, "", "short", "x" * 30 + "\nEXTRA=1", 42):
        odoo.answer = {"token": token, "relay": "Shop relay"}
        with pytest.raises(PairingError, match="did not answer with a token"):
            pair(odoo.url, CODE)


def test_a_machine_it_cannot_write_on_does_not_use_the_code(
    odoo: FakePairing,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """Not root: said before the code is asked for and used (once used, the
    relay's previous token no longer works)."""
    monkeypatch.setattr(relay_pairing.os, "access", lambda *_args: False)
    stdin = io.StringIO(CODE + "\n")
    monkeypatch.setattr(sys, "stdin", stdin)
    env_file = tmp_path / "relay.env"
    code = relay_pairing.main(["--server", odoo.url, "--env-file", str(env_file)])
    assert code == 1
    assert "run as root" in capsys.readouterr().err
    assert stdin.tell() == 0, "the code was not asked for"
    assert odoo.bodies == []
    assert not env_file.exists()


def test_the_relays_help_names_pairing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "caisse_ap.relay", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "caisse_ap.relay pair --help" in " ".join(done.stdout.split())
