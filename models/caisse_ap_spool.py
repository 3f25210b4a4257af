"""Outcomes the worker could not write to the database, kept in files.

When the database stays unreachable until a payment's deadline, the
terminal's answer must not be lost with the worker's memory: it is written
to ``<data_dir>/caisse_ap_spool/<database>/<transaction id>.json`` and
recorded at the next start or sweep, then the file is removed. A file holds
what the journal would (redacted frames, last 4 digits at most).
"""

import contextlib
import json
import logging
import os
from pathlib import Path

from odoo.tools import config

_logger = logging.getLogger(__name__)

SUFFIX = ".json"


def spool_dir(dbname):
    return Path(config["data_dir"]) / "caisse_ap_spool" / dbname


def keep(dbname, transaction_id, record):
    """Write ``record`` (JSON-safe) for the transaction; return the file's path."""
    folder = spool_dir(dbname)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{transaction_id}{SUFFIX}"
    temporary = folder / f".{transaction_id}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(record, file)
        file.flush()
        os.fsync(file.fileno())
    # Whole or absent: a crash never leaves half a record under the final name.
    os.replace(temporary, path)
    return path


def pending(dbname):
    """``(path, record)`` of every kept outcome of this database."""
    kept = []
    for path in pending_paths(dbname):
        try:
            kept.append((path, json.loads(path.read_text())))
        except FileNotFoundError:
            continue  # recorded meanwhile by another process
        except (OSError, ValueError) as error:
            _logger.error(
                "Caisse-AP: unreadable spool file %s left in place: %s", path, error
            )
    return kept


def pending_paths(dbname):
    """The kept outcomes' files, unread."""
    folder = spool_dir(dbname)
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []


def discard(path):
    # Another process may have recorded it too.
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
