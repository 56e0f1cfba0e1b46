"""The interchange control number counter: one per submitter, never repeating.

Each workbook's Submissions table remembers the numbers its files used, but a
submitter (one SubmitterID) sends from many workbooks: a clinic's months, a
billing service's clinics. So the numbers are also counted in one small SQLite
file per user, shared by every workbook:

    $ECM_XL_LEDGER, if set; else
    %LOCALAPPDATA%\\ecm-xl\\ledger.sqlite on Windows,
    $XDG_DATA_HOME/ecm-xl/ledger.sqlite, or ~/.local/share/ecm-xl/ledger.sqlite.

(`--ledger FILE` on the command line.) A number is taken in one SQLite
transaction, so two exports at once never get the same one; it is taken
before anything is written, so a failed export leaves a gap, never a repeat.
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

ENV = "ECM_XL_LEDGER"
MAX = 999_999_999      # ISA13 is 9 digits


class LedgerError(Exception):
    """The counter can't be read or advanced; str(e) is one line."""


def default_path() -> Path:
    """Where the counter lives when no --ledger is given (see the module's doc)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"])
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "ecm-xl" / "ledger.sqlite"


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(os.fspath(path), timeout=60, isolation_level=None)
        con.execute("CREATE TABLE IF NOT EXISTS control_numbers ("
                    "submitter TEXT PRIMARY KEY, last INTEGER NOT NULL, updated TEXT NOT NULL)")
        return con
    except (OSError, sqlite3.Error) as exc:
        raise LedgerError(f"{path}: can't open the control number ledger ({exc})") from None


def last_number(submitter: str, path=None) -> int:
    """The last control number taken for `submitter` (0 when none)."""
    path = Path(path) if path else default_path()
    if not path.exists():
        return 0
    con = _connect(path)
    try:
        row = con.execute("SELECT last FROM control_numbers WHERE submitter = ?", (submitter.upper(),)).fetchone()
        return row[0] if row else 0
    except sqlite3.Error as exc:
        raise LedgerError(f"{path}: can't read the control number ledger ({exc})") from None
    finally:
        con.close()


def take_number(submitter: str, *, used=(), requested: int | None = None, path=None) -> int:
    """The next control number for `submitter`, recorded as taken.

    It is above every number the ledger and `used` (the workbook's own record)
    hold. `requested` asks for a given number: refused (LedgerError) when it is
    not above every number already used, since a receiver rejects a repeat.
    """
    path = Path(path) if path else default_path()
    key = submitter.upper()
    con = _connect(path)
    try:
        con.execute("BEGIN IMMEDIATE")
        row = con.execute("SELECT last FROM control_numbers WHERE submitter = ?", (key,)).fetchone()
        last = max([row[0] if row else 0, *used])
        if requested is not None:
            if requested <= last:
                con.execute("ROLLBACK")
                raise LedgerError(f"control number {requested} has been used already by submitter {key} "
                                  f"(the last was {last}): leave --control-number out to take the next one")
            number = requested
        else:
            number = last + 1
        if number > MAX:
            con.execute("ROLLBACK")
            raise LedgerError(f"submitter {key} has used every control number up to {MAX}")
        con.execute("INSERT INTO control_numbers (submitter, last, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT(submitter) DO UPDATE SET last = excluded.last, updated = excluded.updated",
                    (key, number, dt.datetime.now().isoformat(timespec="seconds")))
        con.execute("COMMIT")
        return number
    except sqlite3.Error as exc:
        raise LedgerError(f"{path}: can't advance the control number ledger ({exc})") from None
    finally:
        con.close()
