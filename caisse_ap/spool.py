"""Outcomes kept on disk until Odoo has recorded them.

Both sides that hear a terminal's answer use it: the shop relay (until Odoo
acknowledged its post) and Odoo's payment worker (when the database stays out
of reach until the payment's deadline). Standard library only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

_logger = logging.getLogger(__name__)


class Spool:
    """Outcomes that are not in Odoo's database yet, one small file each.

    ``<folder>/<transaction id>.json`` is written and synced (with its folder)
    before anything else is tried, and removed once the outcome is recorded:
    a process killed in between finds it at its next start, and Odoo records
    an outcome once per transaction. Only this user can read the files; they
    hold what the journal would (the card number reduced to its last 4 digits).
    """

    SUFFIX = ".json"

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    @classmethod
    def for_server(cls, state_dir: Path | str, server: str) -> Spool:
        """The relay's spool for ``server``, created now so that an unwritable
        state folder stops the relay before it takes a payment."""
        state_dir = Path(state_dir)
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = hashlib.sha256(server.encode()).hexdigest()[:16]
        spool = cls(state_dir / "results" / key)
        spool.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(spool.folder.parent, 0o700)
        os.chmod(spool.folder, 0o700)
        return spool

    def path(self, transaction_id: int) -> Path:
        return self.folder / f"{int(transaction_id)}{self.SUFFIX}"

    def keep(self, transaction_id: int, body: dict) -> Path:
        """Write ``body`` durably: whole under its final name, or absent."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.path(transaction_id)
        temporary = self.folder / f".{int(transaction_id)}.{os.getpid()}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as file:
                json.dump(body, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        self._sync_folder()
        return path

    def _sync_folder(self) -> None:
        # The rename itself must survive a power cut (not possible everywhere).
        with contextlib.suppress(OSError):
            fd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def count(self) -> int:
        """How many outcomes wait for Odoo."""
        return sum(1 for _path in self._files())

    def _files(self) -> Iterator[Path]:
        if self.folder.is_dir():
            yield from self.folder.glob(f"*{self.SUFFIX}")

    def discard(self, transaction_id: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(transaction_id).unlink()

    def pending(self) -> Iterator[tuple[int, dict]]:
        """``(transaction id, body)`` of every kept outcome."""
        for path in sorted(self._files()):
            try:
                transaction_id = int(path.stem)
                body = json.loads(path.read_text())
            except FileNotFoundError:
                continue
            except (OSError, ValueError) as error:
                _logger.error(
                    "unreadable kept outcome %s left in place: %s", path, error
                )
                continue
            if (
                not isinstance(body, dict)
                or body.get("transaction_id") != transaction_id
            ):
                _logger.error(
                    "kept outcome %s does not match its name: left in place", path
                )
                continue
            yield transaction_id, body
