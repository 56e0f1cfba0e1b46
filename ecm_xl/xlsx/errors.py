"""The one-line error a bad workbook raises (shared by every part of the xlsx layer)."""
from __future__ import annotations

import os
import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class WorkbookError(Exception):
    """A bad file. str(e) is ONE line: '<file name>: <what is wrong, plainly>'.

    Control characters (a file name can hold them) are shown escaped, never raw."""

    def __init__(self, path, what: str | None = None):
        if what is None:            # WorkbookError("book.xlsx: ...") with the line already made
            line = str(path)
        else:
            name = os.path.basename(os.fspath(path)) if path else "workbook"
            line = f"{name}: {what}"
        line = " ".join(line.split())
        super().__init__(_CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), line))
