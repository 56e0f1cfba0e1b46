"""`ecm-xl batch` and api.batch_close: every workbook closed, one bad file never stops the rest."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecm_xl import api
from ecm_xl import contract as C
from ecm_xl.cli import main

from cli_workbooks import CLOSE_DATE, output_tables, sha256, small_workbook


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return small_workbook(tmp_path_factory.mktemp("batch") / "good.xlsx")


def make_inbox(folder: Path, good: Path, n_good=3, bad=True) -> Path:
    """n_good clinics' months (each bills its own health plan, so none is another's month) and a bad file."""
    folder.mkdir()
    for i in range(n_good):
        api.write_named_cells(good, folder / f"clinic{i + 1}.xlsx", {"HealthPlan": f"Plan {i + 1}"})
    if bad:
        (folder / "broken.xlsx").write_bytes(good.read_bytes()[:3000])     # a cut-off download
    (folder / "~$clinic1.xlsx").write_bytes(b"lock")                        # Excel's lock file: not a workbook
    (folder / "notes.txt").write_text("not a workbook")
    return folder


def read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def test_batch_with_one_bad_workbook_exits_1_and_closes_the_others(good, tmp_path):
    inbox = make_inbox(tmp_path / "inbox", good)
    hashes = {p.name: sha256(p) for p in inbox.iterdir()}
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["batch", str(inbox), "-o", str(out), "--workers", "2",
                                  "--close-date", CLOSE_DATE.isoformat()])
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    assert "Closed 3 of 4 workbooks" in r.output
    assert "bad file: broken.xlsx:" in r.output

    report = {row["File"]: row for row in read_csv(out / "batch_report.csv")}
    assert set(report) == {"clinic1.xlsx", "clinic2.xlsx", "clinic3.xlsx", "broken.xlsx"}
    assert report["broken.xlsx"]["Status"] == "bad file"
    assert report["broken.xlsx"]["Message"].startswith("broken.xlsx: ")
    assert report["broken.xlsx"]["Output"] == ""
    single = api.close_workbook(good, tmp_path / "single.xlsx", close_date=CLOSE_DATE).result.totals
    for name in ("clinic1.xlsx", "clinic2.xlsx", "clinic3.xlsx"):
        row = report[name]
        assert row["Status"] == "ok"
        assert int(row["Claim Lines"]) == single.claim_lines and int(row["Units"]) == single.units
        assert float(row["Charge"]) == pytest.approx(single.charge)
        assert int(row["Errors"]) == single.errors and int(row["Warnings"]) == single.warnings
        assert (out / row["Output"]).exists()
        assert output_tables(out / row["Output"]) == output_tables(tmp_path / "single.xlsx")
    assert not (out / "broken.closed.xlsx").exists()

    claims = read_csv(out / "claims.csv")
    assert "Source File" in claims[0]
    assert set(C.CLAIM_HEADERS) <= set(claims[0])
    by_source = {}
    for row in claims:
        by_source.setdefault(row["Source File"], []).append(row)
    assert set(by_source) == {"clinic1.xlsx", "clinic2.xlsx", "clinic3.xlsx"}
    assert all(len(rows) == single.claim_lines for rows in by_source.values())
    assert {p.name: sha256(p) for p in inbox.iterdir()} == hashes           # inputs untouched


def test_batch_all_good_exits_0_in_one_process(good, tmp_path):
    inbox = make_inbox(tmp_path / "inbox", good, n_good=2, bad=False)
    r = CliRunner().invoke(main, ["batch", str(inbox), "-o", str(tmp_path / "out"), "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert [row["Status"] for row in read_csv(tmp_path / "out" / "batch_report.csv")] == ["ok", "ok"]


def test_batch_of_a_glob_and_same_names_from_two_folders(good, tmp_path):
    for d in ("east", "west"):
        (tmp_path / "in" / d).mkdir(parents=True)
        (tmp_path / "in" / d / "October.xlsx").write_bytes(good.read_bytes())
    report = api.batch_close(str(tmp_path / "in" / "*" / "*.xlsx"), tmp_path / "out", workers=1,
                             close_date=CLOSE_DATE)
    assert [i.file for i in report.items] == ["east/October.xlsx", "west/October.xlsx"]
    assert sorted(Path(i.out).name for i in report.items) == ["October-2.closed.xlsx", "October.closed.xlsx"]
    assert report.ok


def test_batch_x12_writes_one_combined_837(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for seed, name in ((1, "a.xlsx"), (2, "b.xlsx")):         # two clinics' months
        demo = api.demo(tmp_path / f"demo{seed}", seed=seed)
        (inbox / name).write_bytes(Path(demo.workbook).read_bytes())
    r = CliRunner().invoke(main, ["batch", str(inbox), "-o", str(tmp_path / "out"), "--format", "x12",
                                  "--workers", "2", "--close-date", "2026-11-30"])
    assert r.exit_code == 0, r.output
    text = (tmp_path / "out" / "claims.837").read_text()
    assert text.startswith("ISA*")
    assert text.count("ST*837*") == 2                                       # one transaction per workbook


def test_batch_export_not_ready_exits_1_with_the_reason(good, tmp_path):
    inbox = make_inbox(tmp_path / "inbox", good, n_good=1, bad=False)
    r = CliRunner().invoke(main, ["batch", str(inbox), "-o", str(tmp_path / "out"), "--format", "x12"])
    assert r.exit_code == 1                  # the small workbook has no provider address: no 837P
    (row,) = read_csv(tmp_path / "out" / "batch_report.csv")
    assert row["Status"] == "not ready" and row["Message"].startswith(f"{row['File']}: Not ready for an 837P: ProviderAddress is blank")
    assert "not ready" in r.output
    assert not (tmp_path / "out" / "claims.837").exists()


def test_an_empty_folder_is_bad_usage(tmp_path):
    (tmp_path / "empty").mkdir()
    r = CliRunner().invoke(main, ["batch", str(tmp_path / "empty"), "-o", str(tmp_path / "out")])
    assert r.exit_code == 2
    assert "no .xlsx workbooks" in r.stderr


def test_progress_is_reported_per_file(good, tmp_path):
    inbox = make_inbox(tmp_path / "inbox", good, n_good=2)
    seen = []
    api.batch_close(inbox, tmp_path / "out", workers=2, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_an_unexpected_error_fails_one_file_only(good, tmp_path, monkeypatch):
    inbox = make_inbox(tmp_path / "inbox", good, n_good=2, bad=False)
    real = api.close_workbook

    def flaky(path, *a, **kw):
        if Path(path).name == "clinic2.xlsx":
            raise KeyError("boom")
        return real(path, *a, **kw)
    monkeypatch.setattr(api, "close_workbook", flaky)
    report = api.batch_close(inbox, tmp_path / "out", workers=1)
    status = {i.file: (i.status, i.message) for i in report.items}
    assert status["clinic1.xlsx"][0] == "ok"
    assert status["clinic2.xlsx"][0] == "failed"
    assert "KeyError" in status["clinic2.xlsx"][1] and "boom" not in status["clinic2.xlsx"][1]




def test_a_full_disk_fails_that_file_with_the_reason(good, tmp_path, monkeypatch):
    inbox = make_inbox(tmp_path / "inbox", good, n_good=2, bad=False)
    real = api.close_workbook

    def full(path, *a, **kw):
        if Path(path).name == "clinic1.xlsx":
            raise OSError(28, "No space left on device")
        return real(path, *a, **kw)
    monkeypatch.setattr(api, "close_workbook", full)
    report = api.batch_close(inbox, tmp_path / "out", workers=1)
    assert [(i.status, i.message) for i in report.items] == [
        ("failed", "clinic1.xlsx: can't be closed (No space left on device)"), ("ok", "")]
    assert not report.ok
