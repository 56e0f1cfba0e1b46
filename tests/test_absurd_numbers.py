"""Non-finite and absurd numbers are problems on rows, never charges (issue 12); the
clinic's Codes table prices, or nothing does."""
from __future__ import annotations

import math

import pytest

from month import close, errors, lines_by_code, row, warnings

CODES = [{"HCPCS": "G9008", "Modifier 1": "U1", "Modifier 2": "", "Rate": 100.0}]


@pytest.mark.parametrize("minutes", [math.inf, -math.inf, 1e-300, 1e-5])
def test_minutes_that_are_not_a_real_amount_of_time_are_R11_errors(minutes):
    r = close([row(minutes=minutes), row(date="10/6/2026", minutes=60)], codes=CODES)
    assert [p.row for p in errors(r, "R11")] == [2]
    assert "Minutes" in errors(r, "R11")[0].column
    line = lines_by_code(r)[("91000001A", "G9008", "U1", "")]
    assert (line.minutes, line.units, line.charge) == (60, 1, 100.0)       # the good row alone, priced by hand


def test_nan_minutes_read_as_blank_and_are_an_R11_error():
    r = close([row(minutes=math.nan)], codes=CODES)
    assert [p.rule for p in errors(r)] == ["R11"] and not r.claim_lines


@pytest.mark.parametrize("rate", [math.inf, math.nan, 1e300, 100_000, -5])
def test_a_rate_that_is_not_a_sane_amount_leaves_the_line_unpriced_with_a_warning(rate):
    r = close([row(minutes=90)], codes=[{"HCPCS": "G9008", "Modifier 1": "U1", "Modifier 2": "", "Rate": rate}])
    line = lines_by_code(r)[("91000001A", "G9008", "U1", "")]
    assert line.units == 2 and line.charge is None and line.rate is None
    assert r.totals.charge == 0
    assert any(p.column == "Rate" for p in warnings(r, "R5")) or math.isnan(rate)
    assert any("No rate for" in p.reason for p in warnings(r))


def test_a_codes_table_without_a_code_prices_nothing_for_it_not_the_profiles_rate():
    # G9008 U1 GQ (phone) has no row in the clinic's table: no charge, a warning, never the example rate
    r = close([row(minutes=60), row(date="10/6/2026", minutes=60, contact="Phone/Telehealth")], codes=CODES)
    lines = lines_by_code(r)
    assert lines[("91000001A", "G9008", "U1", "")].charge == 100.0
    assert lines[("91000001A", "G9008", "U1", "GQ")].charge is None
    assert any("No rate for" in p.reason for p in warnings(r))


def test_an_empty_codes_table_prices_nothing():
    r = close([row(minutes=60)], codes=[])
    assert r.claim_lines[0].charge is None and r.totals.charge == 0


def test_with_no_workbook_codes_the_profile_rates_price_the_api_close():
    r = close([row(minutes=60)])
    assert r.claim_lines[0].charge is not None and r.claim_lines[0].charge > 0
