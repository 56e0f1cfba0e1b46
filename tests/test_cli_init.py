"""`ecm-xl init` through the CLI runner: the add-in's workbook and script, never overwriting."""
import importlib.util

from click.testing import CliRunner

from ecm_xl import addin

from ecm_xl.cli import main
from ecm_xl.xlsx import read_workbook


def test_init_writes_the_workbook_and_its_run_main_script(tmp_path):
    res = CliRunner().invoke(main, ["init", str(tmp_path / "clinic")])
    assert res.exit_code == 0, res.output
    book, script = tmp_path / "clinic" / "ECM_Timesheet.xlsx", tmp_path / "clinic" / "ECM_Timesheet.py"
    assert "Run main" in res.output and book.is_file()
    spec = importlib.util.spec_from_file_location("ECM_Timesheet", script)  # as the add-in imports it
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main is addin.main
    wb = read_workbook(book)
    assert {"Staff", "Members", "Timesheet", "Summary", "Claim", "Exceptions"} <= set(wb.tables)


def test_init_refuses_to_overwrite_in_one_line(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(tmp_path)]).exit_code == 0
    before = (tmp_path / "ECM_Timesheet.xlsx").read_bytes()
    res = runner.invoke(main, ["init", str(tmp_path)])
    assert res.exit_code == 2 and "already exists" in res.output
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert (tmp_path / "ECM_Timesheet.xlsx").read_bytes() == before


def test_init_xlsm(tmp_path):
    res = CliRunner().invoke(main, ["init", str(tmp_path), "--xlsm"])
    assert res.exit_code == 0 and (tmp_path / "ECM_Timesheet.xlsm").is_file()
