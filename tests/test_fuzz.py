"""The fuzz test: damaged and hostile workbooks never crash, hang or exhaust `ecm-xl close`.

Seeded and reproducible: each case is made from the demo month's workbook by one
mutation (tests/fuzz_workbooks.py), closed by the real command in a child process
with a timeout and an address-space limit. Every case must end in exit 0 with an
output that reopens in openpyxl and holds the claim lines and exceptions it
printed, or in exit 2 with one line naming the file. About 150 cases; two at a time.

More cases, with counts by category:  python tests/fuzz_workbooks.py --cases 600 --show
"""
from __future__ import annotations

import pytest

import fuzz_workbooks as F

SEED = 20261202
COUNTS = {"zip": 25, "xml": 35, "structure": 30, "cells": 35, "traps": 1}

# Known, not yet fixed: damage inside a part the close copies byte for byte and
# never reads, which stays well-formed XML but breaks the part's schema (here a
# data validation's attribute name cut to `allowank`), is passed on. Checking
# every copied part against the SpreadsheetML schema is the fix still to make.
# Listed so the run stays honest: each must still fail, and a fix shows up here.
KNOWN_OPEN = {"xl/worksheets/sheet2.xml: cut 2 bytes at 12463"}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    data = F.demo_workbook(root)
    cases = F.make_cases(data, SEED, COUNTS)
    return F.run_cases(cases, root / "cases", workers=2)


def _report(bad) -> str:
    return "\n".join(f"[{o.case.category}] {o.case.name}: exit {o.code}, {o.why}; stderr: "
                     f"{o.stderr.strip()[-300:]!r}" for o in bad)


def test_cases_are_reproducible(tmp_path):
    data = F.demo_workbook(tmp_path)
    a = F.make_cases(data, SEED, {"zip": 3, "xml": 3, "structure": 3, "cells": 3, "traps": 0})
    b = F.make_cases(data, SEED, {"zip": 3, "xml": 3, "structure": 3, "cells": 3, "traps": 0})
    assert [(c.name, c.data) for c in a] == [(c.name, c.data) for c in b]
    assert len({c.data for c in a}) >= len(a) - 2    # nearly every case really changed something


@pytest.mark.parametrize("category", F.CATEGORIES)
def test_every_case_closes_soundly_or_is_refused_in_one_line(outcomes, category):
    mine = [o for o in outcomes if o.case.category == category]
    assert mine, f"no {category} cases ran"
    still_open = {o.case.name for o in mine if not o.ok and o.case.name in KNOWN_OPEN}
    assert still_open == {o.case.name for o in mine if o.case.name in KNOWN_OPEN}, \
        f"fixed, take it off KNOWN_OPEN: {sorted({o.case.name for o in mine if o.case.name in KNOWN_OPEN} - still_open)}"
    bad = [o for o in mine if not o.ok and o.case.name not in KNOWN_OPEN]
    assert not bad, f"{len(bad)} of {len(mine)} {category} cases failed:\n{_report(bad)}\n\n{F.summary(outcomes)}"


def test_the_cases_reach_both_outcomes(outcomes):
    """A fuzz run whose mutations all broke the file (or none did) would test little."""
    codes = {o.code for o in outcomes}
    assert {0, 2} <= codes, F.summary(outcomes)
    refused = sum(1 for o in outcomes if o.code == 2)
    assert 0.2 * len(outcomes) < refused < 0.9 * len(outcomes), F.summary(outcomes)
