"""What the codes of an 835 mean, in the words of the shipped code list (codes.csv).

    meaning("CO", "4")          -> 'CO-4 (Contractual Obligations): The procedure code is
                                    inconsistent with the modifier used.'
    remark_meaning("N519")      -> 'N519: no description in ecm-xl's code list'

codes.csv says where each description comes from and when the list was made;
text after "Usage:" (a note to payers) is left out. A code the list lacks is
named with its number and says so: nothing is made up.
"""
from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources

UNKNOWN = "no description in ecm-xl's code list"
GROUPS = ("CO", "CR", "OA", "PI", "PR")


@lru_cache(maxsize=1)
def code_list() -> dict:
    """{(list, code): description} for the lists 'group', 'CARC', 'RARC' and 'CLP02'."""
    text = resources.files("ecm_xl.remittance").joinpath("codes.csv").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return {(r["list"], r["code"]): _clerk_text(r["list"], r["description"])
            for r in csv.DictReader(io.StringIO("\n".join(lines)))}


def _clerk_text(kind: str, text: str) -> str:
    for note in (" Usage:", " Note:"):
        text = text.split(note, 1)[0]
    text = " ".join(text.split())
    if kind in ("CARC", "RARC") and not text.endswith((".", ")")):
        text += "."
    return text


def describe(kind: str, code: str) -> str | None:
    return code_list().get((kind, code))


def group_meaning(group: str) -> str:
    return describe("group", group) or UNKNOWN


def meaning(group: str, carc: str) -> str:
    """'CO-4 (Contractual Obligations): The procedure code is inconsistent ...'."""
    label = f"{group}-{carc}" if group else carc
    g = describe("group", group)
    text = describe("CARC", carc) or UNKNOWN
    return f"{label} ({g}): {text}" if g else f"{label}: {text}"


def remark_meaning(rarc: str) -> str:
    return f"{rarc}: {describe('RARC', rarc) or UNKNOWN}"


def status_meaning(clp02: str) -> str:
    return describe("CLP02", clp02) or UNKNOWN
