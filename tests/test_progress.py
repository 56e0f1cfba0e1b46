"""Progress of long work: a callback from the API, drawn by the command on a terminal only,
and silenced by --quiet."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from ecm_xl import api, cli
from ecm_xl.cli import main

from cli_workbooks import CLOSE_DATE, ENTRIES, ready_month, small_workbook


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def october(tmp_path_factory):
    return small_workbook(tmp_path_factory.mktemp("progress") / "Oct.xlsx")


@pytest.fixture
def book(october, tmp_path):
    p = tmp_path / "Oct.xlsx"
    p.write_bytes(october.read_bytes())
    return p


def test_close_reports_each_step_as_it_starts(book):
    seen = []
    api.close_workbook(book, close_date=CLOSE_DATE, progress=lambda *a: seen.append(a))
    assert seen == [(0, 3, "reading Oct.xlsx"), (1, 3, f"billing {len(ENTRIES)} timesheet rows"),
                    (2, 3, "writing Oct.closed.xlsx"), (3, 3, "")]


def test_fill_and_export_report_their_steps(book, tmp_path):
    entries = tmp_path / "more.csv"
    entries.write_text("Date,Staff ID,Member ID,Service,Contact,Minutes\n10/20/2026,C1,91000001A,ECM service,In person,30\n")
    seen = []
    api.fill_workbook(book, entries, progress=lambda *a: seen.append(a))
    assert seen == [(0, 3, "reading more.csv"), (1, 3, "deriving codes for 1 entries"), (2, 3, "writing Oct.xlsx"),
                    (3, 3, "")]
    api.close_workbook(book, close_date=CLOSE_DATE)
    seen.clear()
    api.export_workbook(book.with_name("Oct.closed.xlsx"), "xlsx", tmp_path / "c.xlsx", close_date=CLOSE_DATE,
                        progress=lambda *a: seen.append(a))
    assert [s[:2] for s in seen] == [(0, 2), (1, 2), (2, 2)]
    assert seen[0][2] == "reading and re-checking Oct.closed.xlsx" and seen[1][2].endswith("claim lines to c.xlsx")


def test_nothing_on_stderr_when_it_is_not_a_terminal(book):
    r = run("close", book, "--close-date", CLOSE_DATE)
    assert r.exit_code == 0 and r.stderr == ""


@pytest.fixture
def terminal(monkeypatch):
    monkeypatch.setattr(cli, "_terminal", lambda: True)


def test_a_terminal_sees_the_steps_then_a_clean_line(book, terminal):
    r = run("close", book, "--close-date", CLOSE_DATE)
    assert r.exit_code == 0
    frames = r.stderr.split("\r\x1b[K")
    assert frames[1:] == ["Closing [------------------------] 0/3 reading Oct.xlsx",
                          f"Closing [########----------------] 1/3 billing {len(ENTRIES)} timesheet rows",
                          "Closing [################--------] 2/3 writing Oct.closed.xlsx",
                          "Closing [########################] 3/3", ""]
    assert r.stdout.startswith("Closed October 2026")     # the result is not mixed into the bar


@pytest.mark.parametrize("where", ["after the command", "before the command", "short"])
def test_quiet_silences_it(book, terminal, where):
    args = {"after the command": ("close", book, "--quiet"), "before the command": ("--quiet", "close", book),
            "short": ("close", "-q", book)}[where]
    r = run(*args, "--close-date", CLOSE_DATE)
    assert r.exit_code == 0 and r.stderr == "" and r.stdout.startswith("Closed October 2026")


def test_every_command_takes_quiet():
    for name in main.commands:
        r = run(name, "--help")
        assert "--quiet" in r.output, name


def test_batch_draws_files_done(book, terminal, tmp_path):
    r = run("batch", book, "-o", tmp_path / "out", "--workers", "1", "--close-date", CLOSE_DATE)
    assert r.exit_code == 0
    assert "\r\x1b[KClosing workbooks [########################] 1/1" in r.stderr


def test_an_error_clears_the_bar_before_its_line(book, terminal, tmp_path):
    r = run("export", book, "--format", "xlsx", "-o", tmp_path / "c.xlsx")   # not closed
    assert r.exit_code == 2
    assert r.stderr.endswith("\r\x1b[Kecm-xl: Oct.xlsx: has no claim lines on the Claim sheet: close the month first\n")


def test_an_837p_export_reports_its_steps(tmp_path, monkeypatch):
    import x12check as X
    monkeypatch.setenv("ECM_XL_LEDGER", str(tmp_path / "ledger.txt"))
    book = ready_month(tmp_path / "Oct.xlsx")
    seen = []
    api.export_workbook(book, "x12", tmp_path / "oct.837", close_date=X.CLOSE_DATE, created="2026-12-01",
                        progress=lambda *a: seen.append(a))
    assert [s[:2] for s in seen] == [(0, 2), (1, 2), (2, 2)]
    assert seen[0][2] == "reading and re-checking Oct.xlsx" and seen[1][2].endswith("claim lines to oct.837")


def test_merge_reports_its_steps(october, tmp_path):
    a, b = tmp_path / "A.xlsx", tmp_path / "B.xlsx"
    a.write_bytes(october.read_bytes())
    b.write_bytes(october.read_bytes())
    seen = []
    api.merge_workbooks([a, b], tmp_path / "Oct.xlsx", progress=lambda *x: seen.append(x))
    assert seen == [(0, 3, "reading 2 workbooks"), (1, 3, "checking they agree"), (2, 3, "writing Oct.xlsx"),
                    (3, 3, "")]
