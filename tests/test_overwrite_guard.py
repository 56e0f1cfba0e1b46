"""Nothing is overwritten unasked: every command that writes refuses, in one line with exit 2 and
the file untouched, to replace a file that is not its own earlier output for the same input, or to
write a kind of file under a name that says another kind; --force replaces on purpose."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli_workbooks import CLOSE_DATE, ENTRY_HEADERS, sha256, small_workbook, write_csv

from ecm_xl.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def refused(r, path: Path, before: str, words: str):
    assert r.exit_code == 2, r.output
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr     # one line
    assert path.name in r.stderr and words in r.stderr, r.stderr
    assert "Traceback" not in r.output
    assert sha256(path) == before                                 # the file is untouched


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    return small_workbook(tmp_path_factory.mktemp("guard") / "October.xlsx")


@pytest.fixture()
def workbook(filled, tmp_path) -> Path:
    p = tmp_path / "October.xlsx"
    p.write_bytes(filled.read_bytes())
    return p


def test_template_over_a_filled_workbook_is_refused(workbook):
    before = sha256(workbook)
    refused(run("template", workbook), workbook, before, "already exists")
    r = run("template", workbook, "--force")
    assert r.exit_code == 0 and sha256(workbook) != before


def test_template_again_over_the_same_blank_template_is_fine(tmp_path):
    assert run("template", tmp_path / "blank.xlsx").exit_code == 0
    r = run("template", tmp_path / "blank.xlsx")
    assert r.exit_code == 0, r.output


def test_template_must_be_named_as_a_workbook(tmp_path):
    r = run("template", tmp_path / "blank.csv")
    assert r.exit_code == 2 and "*.xlsx" in r.stderr and not (tmp_path / "blank.csv").exists()


def test_close_to_a_csv_name_is_refused_and_notes_survive(workbook, tmp_path):
    notes = tmp_path / "notes.csv"
    notes.write_text("my notes\n")
    refused(run("close", workbook, "-o", notes), notes, sha256(notes), "*.xlsx")


def test_close_again_replaces_its_own_closed_copy_but_not_another_workbook(workbook, tmp_path, filled):
    assert run("close", workbook, "--close-date", CLOSE_DATE).exit_code == 0
    closed = tmp_path / "October.closed.xlsx"
    r = run("close", workbook, "--close-date", CLOSE_DATE)           # re-closing: its own earlier output
    assert r.exit_code == 0, r.output
    r = run("close", workbook, "-o", closed, "--close-date", CLOSE_DATE)
    assert r.exit_code == 0, r.output
    other = tmp_path / "November.xlsx"
    other.write_bytes(filled.read_bytes())
    refused(run("close", workbook, "-o", other), other, sha256(other), "--force")
    r = run("close", workbook, "-o", other, "--force", "--close-date", CLOSE_DATE)
    assert r.exit_code == 0, r.output


def test_another_workbooks_closed_copy_is_not_this_ones(workbook, tmp_path, filled):
    other = tmp_path / "Team B.xlsx"
    other.write_bytes(filled.read_bytes())
    assert run("close", other, "--close-date", CLOSE_DATE).exit_code == 0
    theirs = tmp_path / "Team B.closed.xlsx"
    refused(run("close", workbook, "-o", theirs), theirs, sha256(theirs), "earlier output")


def test_export_to_a_workbook_name_or_over_a_clerks_csv_is_refused(workbook, tmp_path, filled):
    assert run("close", workbook, "--close-date", CLOSE_DATE).exit_code == 0
    closed = tmp_path / "October.closed.xlsx"
    other = tmp_path / "other.xlsx"
    other.write_bytes(filled.read_bytes())
    refused(run("export", closed, "--format", "csv", "-o", other), other, sha256(other), "*.csv")
    refused(run("export", closed, "--format", "x12", "-o", other), other, sha256(other), "*.837")
    notes = tmp_path / "notes.csv"
    notes.write_text("Member,Note\n91000001A,call back\n")
    refused(run("export", closed, "--format", "csv", "-o", notes), notes, sha256(notes), "--force")
    claims = tmp_path / "claims.csv"
    assert run("export", closed, "--format", "csv", "-o", claims, "--close-date", CLOSE_DATE).exit_code == 0
    r = run("export", closed, "--format", "csv", "-o", claims, "--close-date", CLOSE_DATE)
    assert r.exit_code == 0, r.output                                 # an earlier export of the same claims


def test_fill_to_another_months_workbook_is_refused(filled, tmp_path):
    entries = write_csv(tmp_path / "entries.csv", ENTRY_HEADERS,
                        [("10/12/2026", "C1", "91000001A", "ECM service", "In person", "15")])
    src = tmp_path / "October.xlsx"
    src.write_bytes(filled.read_bytes())
    other = small_workbook(tmp_path / "other_month.xlsx", month="2026-11")
    refused(run("fill", src, "--entries", entries, "-o", other), other, sha256(other), "--force")
    out = tmp_path / "October_filled.xlsx"
    assert run("fill", src, "--entries", entries, "-o", out).exit_code == 0
    r = run("fill", src, "--entries", entries, "-o", out)             # the same fill again
    assert r.exit_code == 0, r.output
    r = run("fill", src, "--entries", entries, "-o", tmp_path / "x.csv")
    assert r.exit_code == 2 and "x.csv" in r.stderr and "*.xlsx" in r.stderr and not (tmp_path / "x.csv").exists()


def test_new_refuses_an_existing_workbook_unless_forced(workbook):
    before = sha256(workbook)
    refused(run("new", workbook), workbook, before, "already exists")
    assert run("new", workbook, "--force").exit_code == 0


def test_demo_twice_is_fine_but_not_over_a_clinics_files(tmp_path):
    d = tmp_path / "demo"
    assert run("demo", d).exit_code == 0
    r = run("demo", d)
    assert r.exit_code == 0, r.output
    staff = d / "staff.csv"
    staff.write_text("Clinic,Phone\nOur clinic,555\n")
    refused(run("demo", d), staff, sha256(staff), "--force")
    assert run("demo", d, "--force").exit_code == 0


def test_batch_outputs_are_guarded(filled, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "October.xlsx").write_bytes(filled.read_bytes())
    out = tmp_path / "out"
    assert run("batch", inbox, "-o", out, "--workers", "1").exit_code == 0
    r = run("batch", inbox, "-o", out, "--workers", "1")              # a batch's own outputs
    assert r.exit_code == 0, r.output
    report = out / "batch_report.csv"
    report.write_text("not ours\n")
    refused(run("batch", inbox, "-o", out, "--workers", "1"), report, sha256(report), "--force")
    assert not (out / "claims.837").exists()
    assert run("batch", inbox, "-o", out, "--workers", "1", "--force").exit_code == 0


def test_init_twice_is_refused_unless_forced(tmp_path):
    assert run("init", tmp_path / "clinic").exit_code == 0
    book = tmp_path / "clinic" / "ECM_Timesheet.xlsx"
    refused(run("init", tmp_path / "clinic"), book, sha256(book), "--force")
    assert run("init", tmp_path / "clinic", "--force").exit_code == 0
