"""`ecm-xl new --set` refuses a Setup value that can't be right, in the words the close and
the 837P export use for the same value."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from ecm_xl import contract as C
from ecm_xl.cli import main
from ecm_xl.xlsx import read_workbook, write_named_cells

from cli_workbooks import CLOSE_DATE, small_workbook


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("setting, words", [
    ("BillingNPI=123", "BillingNPI 123 is not 10 digits"),
    ("BillingNPI=12345678AB", "BillingNPI 12345678AB is not 10 digits"),
    # 1234567893 is the CMS example NPI; changing its check digit breaks the Luhn sum
    ("Billing NPI=1234567890", "BillingNPI 1234567890 fails the NPI check digit"),
    ("TaxID=12-34567", "TaxID 1234567 is not 9 digits"),
    ("ProviderZip=9224", "ProviderZip 9224 must be the 9-digit ZIP+4 for the billing provider"),
    ("Provider state=California", "ProviderState CALIFORNIA is not a two-letter US state code"),
    ("ProviderState=XX", "ProviderState XX is not a two-letter US state code"),
    ("ContactPhone=555-0100", "ContactPhone 555-0100 is not a 10-digit phone number"),
    ("ProviderAddress=P.O. Box 12", "ProviderAddress is a PO box; the billing provider needs a street address"),
    ("BillingMonth=13/2026", "BillingMonth '13/2026' is not a month"),
    ("UnitMinutes=0", "UnitMinutes 0 is not a positive whole number"),
    ("FilingLimitDays=soon", "FilingLimitDays soon is not a positive whole number"),
    ("ApprovalRequired=maybe", "ApprovalRequired 'maybe' is not Yes or No"),
])
def test_new_refuses_a_bad_setup_value_in_one_line(tmp_path, setting, words):
    out = tmp_path / "New.xlsx"
    r = run("new", out, "--set", "ProviderName=Example Clinic", "--set", setting)
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith(f"ecm-xl: {words}") and r.stderr.strip().endswith("; nothing was written")
    assert list(tmp_path.iterdir()) == []


def test_new_names_every_bad_value_at_once(tmp_path):
    r = run("new", tmp_path / "New.xlsx", "--set", "BillingNPI=123", "--set", "TaxID=1")
    assert r.stderr.strip() == "ecm-xl: BillingNPI 123 is not 10 digits; TaxID 1 is not 9 digits; nothing was written"


def test_new_takes_good_values_as_typed(tmp_path):
    out = tmp_path / "New.xlsx"
    r = run("new", out, "--set", "BillingNPI=1234567893", "--set", "TaxID=12-3456789", "--set", "ProviderZip=92243-1234",
            "--set", "ProviderState=ca", "--set", "ContactPhone=(760) 555-0100", "--set", "BillingMonth=2026-10",
            "--set", "ApprovalRequired=No", "--set", "ProviderAddress=100 Main St")
    assert r.exit_code == 0, r.output
    setup = read_workbook(out, required=()).setup
    assert setup["BillingNPI"] == "1234567893" and setup["ProviderZip"] == "92243-1234"


def test_the_close_and_the_export_say_it_in_the_same_words(tmp_path):
    """A workbook typed by hand (not through `new`) with a wrong NPI: the close's Exceptions
    and the export's refusal name it exactly as `new --set` does."""
    book = small_workbook(tmp_path / "Oct.xlsx")
    write_named_cells(book, book, {"BillingNPI": "1234567890", "TaxID": "12-34"})
    assert run("close", book, "--close-date", CLOSE_DATE).exit_code == 0
    closed = tmp_path / "Oct.closed.xlsx"
    reasons = {r["Column"]: r["Reason"] for r in read_workbook(closed).tables[C.EXCEPTIONS].rows
               if r.get("Sheet") == C.SETUP}
    assert reasons == {"BillingNPI": "BillingNPI 1234567890 fails the NPI check digit.",
                       "TaxID": "TaxID 1234 is not 9 digits."}
    r = run("export", closed, "--format", "x12", "-o", tmp_path / "oct.837", "--close-date", CLOSE_DATE)
    assert r.exit_code == 2
    assert "BillingNPI 1234567890 fails the NPI check digit; TaxID 1234 is not 9 digits" in r.stderr
    n = run("new", tmp_path / "New.xlsx", "--set", "BillingNPI=1234567890", "--set", "TaxID=12-34")
    assert n.stderr.strip() == ("ecm-xl: BillingNPI 1234567890 fails the NPI check digit; "
                                "TaxID 1234 is not 9 digits; nothing was written")
