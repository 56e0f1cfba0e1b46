"""Is a diagnosis code a billable ICD-10-CM code? Asked of the real code set.

The code set is the one the `simple-icd-10-cm` package ships (the CMS
ICD-10-CM tabular list; its version is `CODE_SET`). A payer rejects a claim
whose diagnosis is not a code at all, or is a category header such as Z59
that has more specific codes under it: only a code with nothing under it (a
"leaf") is billable. A shape check (a regular expression) can't tell either.

Not part of the pure core: xlwings Lite (Pyodide) doesn't need the package;
`problem()` answers None ("can't tell") when it is not installed.
"""
from __future__ import annotations

import functools
import warnings

NOT_A_CODE = "not an ICD-10-CM code"
HEADER = "a category with more specific codes under it, not a billable code"


@functools.lru_cache(maxsize=1)
def _code_set():
    try:
        with warnings.catch_warnings():       # the package reads its data with a deprecated importlib call
            warnings.simplefilter("ignore", DeprecationWarning)
            import simple_icd_10_cm as cm
    except ImportError:
        return None
    return cm


def code_set_version() -> str:
    """The code set's edition, e.g. 'April-1-2026', or '' when the package is missing."""
    cm = _code_set()
    if cm is None:
        return ""
    from importlib import resources
    names = [p.name for p in resources.files("simple_icd_10_cm.data").iterdir()]
    tab = next((n for n in names if n.startswith("icd10cm-tabular") or "tabular" in n), "")
    return tab.rsplit("tabular-", 1)[-1].removesuffix(".xml") if tab else ""


CODE_SET = "ICD-10-CM"


@functools.lru_cache(maxsize=4096)
def problem(code: str) -> str | None:
    """'' when `code` (with or without its dot) is billable; NOT_A_CODE or HEADER when it is
    not; None when the code set is not installed."""
    cm = _code_set()
    if cm is None:
        return None
    c = (code or "").replace(" ", "").upper()
    if not c or not cm.is_valid_item(c) or cm.is_chapter_or_block(c):
        return NOT_A_CODE
    return "" if cm.is_leaf(c) else HEADER
