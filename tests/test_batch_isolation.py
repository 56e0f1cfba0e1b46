"""A batch survives any one file: a worker that dies fails only the file it was closing."""
from __future__ import annotations

import csv
import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecm_xl import api
from ecm_xl.cli import main
from ecm_xl.workers import how_it_died, run_isolated

from cli_workbooks import small_workbook


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return small_workbook(tmp_path_factory.mktemp("isolation") / "good.xlsx")


def _inbox(folder: Path, good: Path, names) -> Path:
    folder.mkdir()
    for n in names:
        (folder / n).write_bytes(good.read_bytes())
    return folder


def _kill_on(monkeypatch, victims: dict):
    """Reading a file named in victims kills its own process with that signal (as a native
    reader's abort or the out-of-memory killer would). Every read of a workbook goes through
    package._read_file; workers are forked, so they inherit this."""
    from ecm_xl.xlsx import package
    real = package._read_file

    def deadly(path):
        sig = victims.get(Path(path).name)
        if sig is not None:
            os.kill(os.getpid(), sig)
        return real(path)
    monkeypatch.setattr(package, "_read_file", deadly)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_worker_killed_mid_file_fails_that_file_only(good, tmp_path, monkeypatch, workers):
    names = ["a.xlsx", "b_abort.xlsx", "c.xlsx", "d_oom.xlsx", "e.xlsx"]
    inbox = _inbox(tmp_path / "inbox", good, names)
    _kill_on(monkeypatch, {"b_abort.xlsx": signal.SIGABRT, "d_oom.xlsx": signal.SIGKILL})
    seen = []
    report = api.batch_close(inbox, tmp_path / "out", workers=workers, progress=lambda d, t: seen.append(d))
    status = {i.file: i for i in report.items}
    assert [i.file for i in report.items] == names
    for n in ("a.xlsx", "c.xlsx", "e.xlsx"):
        assert status[n].status == "ok" and (tmp_path / "out" / n.replace(".xlsx", ".closed.xlsx")).exists()
    assert status["b_abort.xlsx"].status == "failed"
    assert status["b_abort.xlsx"].message.startswith("b_abort.xlsx: the process closing it stopped (killed by SIGABRT")
    assert status["d_oom.xlsx"].status == "failed"
    assert "killed by SIGKILL, often the system running out of memory" in status["d_oom.xlsx"].message
    assert not (tmp_path / "out" / "b_abort.closed.xlsx").exists()
    assert sorted(seen)[-1] == 5
    with open(tmp_path / "out" / "batch_report.csv", newline="", encoding="utf-8-sig") as f:
        rows = {r["File"]: r["Status"] for r in csv.DictReader(f)}
    assert rows == {"a.xlsx": "ok", "b_abort.xlsx": "failed", "c.xlsx": "ok", "d_oom.xlsx": "failed", "e.xlsx": "ok"}


def test_the_cli_batch_with_a_dying_worker_exits_1_and_writes_the_report(good, tmp_path, monkeypatch):
    inbox = _inbox(tmp_path / "inbox", good, ["a.xlsx", "b.xlsx"])
    _kill_on(monkeypatch, {"a.xlsx": signal.SIGKILL})
    r = CliRunner().invoke(main, ["batch", str(inbox), "-o", str(tmp_path / "out"), "--workers", "1"])
    assert r.exit_code == 1, r.output
    assert "Closed 1 of 2 workbooks" in r.output
    assert "a.xlsx: the process closing it stopped (killed by SIGKILL" in r.output
    assert (tmp_path / "out" / "batch_report.csv").exists()


def _square(x):
    if x == 3:
        os.kill(os.getpid(), signal.SIGSEGV)
    return x * x


def test_run_isolated_keeps_input_order_and_replaces_dead_workers():
    got = run_isolated(_square, list(range(8)), workers=3, on_death=lambda job, how: ("dead", job, how))
    assert got[:3] == [0, 1, 4] and got[4:] == [16, 25, 36, 49]
    assert got[3] == ("dead", 3, "killed by SIGSEGV, a library it uses crashed")


def test_how_it_died_in_words():
    assert how_it_died(-9) == "killed by SIGKILL, often the system running out of memory"
    assert how_it_died(3) == "exited with status 3"


@pytest.mark.parametrize("workers", [1, 2])
def test_poisoned_workbooks_among_good_ones_fail_alone(tmp_path, workers):
    """Real traps that once aborted the reader (a cell at XFD1048576, a date of -1.1e11) and
    took a batch down: now each is a bad file with its one line, and the good ones close."""
    import fuzz_workbooks as F
    data = F.demo_workbook(tmp_path)
    traps = {c.name: c.data for c in F.trap_cases(data, F.locate(data))}
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a_good.xlsx").write_bytes(data)
    (inbox / "b_xfd.xlsx").write_bytes(traps["a cell at XFD1048576"])
    (inbox / "c_date.xlsx").write_bytes(traps["a Timesheet date of -1.1e11"])
    (inbox / "d_row.xlsx").write_bytes(traps["a row numbered 1e12"])
    report = api.batch_close(inbox, tmp_path / "out", workers=workers, close_date=F.dt_close())
    status = {i.file: (i.status, i.message) for i in report.items}
    assert status["a_good.xlsx"] == ("ok", "")
    assert status["b_xfd.xlsx"][0] == "bad file" and status["b_xfd.xlsx"][1].startswith("b_xfd.xlsx: sheet 'Timesheet' has a cell at XFD1048576")
    assert status["c_date.xlsx"][0] == "bad file" and status["c_date.xlsx"][1].startswith("c_date.xlsx: cannot be read")
    assert status["d_row.xlsx"][0] == "bad file" and "numbers a row beyond Excel's last row" in status["d_row.xlsx"][1]
    assert (tmp_path / "out" / "a_good.closed.xlsx").exists()
