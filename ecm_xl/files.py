"""Where outputs go and how they are written: names, the same-file guard, atomic CSV.

Every output is written to a temporary file beside its target and renamed
into place when whole (`xlsx.package.atomic_write`), so a crash never leaves
half a file.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

from .intake import InputError
from .xlsx.package import atomic_write


def name_of(path) -> str:
    return os.path.basename(os.fspath(path))


def same_file(a, b) -> bool:
    a, b = os.fspath(a), os.fspath(b)
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.abspath(a) == os.path.abspath(b)


def default_output(path) -> Path:
    """`<name>.closed.xlsx` beside the workbook (keeping .xlsm for a macro workbook).

    A workbook already named `*.closed.xlsx` has no default: closing it again
    needs -o or --in-place, so a closed copy is never overwritten by surprise.
    """
    p = Path(path)
    stem = p.stem
    if stem.lower().endswith(".closed"):
        raise InputError(p, "is already a closed copy: give -o OUT.xlsx for a new copy, "
                            "or --in-place to update it")
    return p.with_name(f"{stem}.closed{p.suffix or '.xlsx'}")



def write_csv(path: Path, produce) -> None:
    def write(f):
        text = io.StringIO(newline="")
        produce(text)
        f.write(text.getvalue().encode("utf-8-sig"))
    atomic_write(os.fspath(path), write)

