"""`ecm-xl init`: the template plus an xlwings.conf sheet, and the .py file "Run main" imports."""
import importlib
import sys
import zipfile
from pathlib import Path

import pytest
import xlwings as xw
from openpyxl import load_workbook

from ecm_xl import contract as C
from ecm_xl import demo, excel
from ecm_xl.api import close_workbook
from ecm_xl.excel_init import InitError, init_project
from xl_books import fill_template
from xl_payload import actions, make_book, payload_from_xlsx

CHANGED = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"}


@pytest.fixture(scope="module")
def project(template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("clinic")
    return init_project(folder, template=template), template


def test_init_writes_the_workbook_and_its_python_file(project):
    (book, script), _ = project
    assert book.name == "ECM_Timesheet.xlsx" and script.name == "ECM_Timesheet.py"
    assert book.parent == script.parent
    assert "from ecm_xl.addin import fill, main" in script.read_text()


def test_every_part_of_the_template_is_kept(project):
    (book, _), template = project
    with zipfile.ZipFile(template) as a, zipfile.ZipFile(book) as b:
        old, new = set(a.namelist()), set(b.namelist())
        assert old <= new
        added = new - old
        assert len(added) == 1 and next(iter(added)).startswith("xl/worksheets/sheet")
        for name in old - CHANGED:
            assert a.read(name) == b.read(name), name
        # the template's chart, drop-downs and formulas are among the parts copied untouched
        assert any(n.startswith("xl/charts/") for n in old - CHANGED)


def test_the_conf_sheet_names_the_function_module(project):
    (book, _), _ = project
    wb = load_workbook(book)
    assert wb.sheetnames[-1] == "xlwings.conf"
    assert [list(r) for r in wb["xlwings.conf"].values] == [["UDF MODULES", "ecm_xl.excel"]]
    # as xlwings itself reads it
    remote = make_book(payload_from_xlsx(book))
    assert xw.utils.read_config_sheet(remote) == {"UDF MODULES": "ecm_xl.excel"}
    # the module it names has the worksheet functions
    mod = importlib.import_module(wb["xlwings.conf"]["B1"].value)
    assert mod is excel and hasattr(mod.ECM_CODE, "__xlfunc__")


def test_run_main_closes_the_month(project, tmp_path, monkeypatch):
    """What the add-in's Run main does: import <workbook name>; <workbook name>.main()."""
    (book, script), _ = project
    m = demo.make_month()
    filled = fill_template(book, tmp_path / book.name, settings=m.settings, staff=m.staff,
                           members=m.members, timesheet=m.entries)
    payload = payload_from_xlsx(filled)
    remote = make_book(payload)
    monkeypatch.setattr(xw.Book, "_mock_caller", remote, raising=False)
    monkeypatch.syspath_prepend(str(script.parent))
    monkeypatch.delitem(sys.modules, book.stem, raising=False)
    module = importlib.import_module(book.stem)
    assert Path(module.__file__) == script
    module.main()
    acts = actions(remote)
    direct = make_book(payload)
    excel.monthly_close(direct)
    assert acts == actions(direct)
    assert [a["func"] for a in acts].count("setValues") == 3


def test_the_headless_close_reads_the_init_workbook(project, tmp_path):
    (book, _), _ = project
    report = close_workbook(book, tmp_path / "closed.xlsx")
    assert report.result.totals.rows_in == 0
    assert "xlwings.conf" in load_workbook(tmp_path / "closed.xlsx").sheetnames


def test_init_never_overwrites(project, template):
    (book, _), _ = project
    with pytest.raises(InitError) as e:
        init_project(book.parent, template=template)
    assert str(e.value).endswith("ECM_Timesheet.xlsx: already exists; nothing was written "
                                 "(choose another name, or add --force to replace it)")
    assert "\n" not in str(e.value)


def test_init_refuses_a_name_the_add_in_cannot_import(tmp_path, template):
    with pytest.raises(InitError, match="letters, digits and underscores"):
        init_project(tmp_path, template=template, stem="ECM Timesheet")
    assert list(tmp_path.iterdir()) == []


def test_macro_enabled_workbook_for_importing_functions(tmp_path, template):
    book, script = init_project(tmp_path, template=template, macro_enabled=True)
    assert book.suffix == ".xlsm" and script.name == "ECM_Timesheet.py"
    with zipfile.ZipFile(book) as z:
        types = z.read("[Content_Types].xml").decode()
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types
    assert "sheet.main+xml" not in types


def test_libreoffice_opens_the_init_workbook(project, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from libreoffice import recalculate, soffice_or_skip

    soffice_or_skip()
    (book, _), _ = project
    out = recalculate(book, tmp_path / "opened.xlsx")
    wb = load_workbook(out)
    assert wb["xlwings.conf"]["A1"].value == "UDF MODULES"
    assert {C.TIMESHEET, C.SUMMARY, C.CLAIM}.issubset(wb.sheetnames)


def test_init_starts_from_the_template_ecm_xl_new_uses(tmp_path):
    from ecm_xl.api import template_source

    book, script = init_project(tmp_path / "clinic")
    (tmp_path / "t.xlsx").write_bytes(template_source())
    with zipfile.ZipFile(tmp_path / "t.xlsx") as a, zipfile.ZipFile(book) as b:
        for name in set(a.namelist()) - CHANGED:
            assert a.read(name) == b.read(name), name
    assert sorted(p.name for p in book.parent.iterdir()) == ["ECM_Timesheet.py", "ECM_Timesheet.xlsx"]


# -- ecm-xl init --lite ------------------------------------------------------------------
def test_init_lite_writes_the_workbook_main_py_and_requirements(tmp_path):
    from click.testing import CliRunner

    from ecm_xl.cli import main as cli
    res = CliRunner().invoke(cli, ["init", str(tmp_path / "Clinic"), "--lite"])
    assert res.exit_code == 0, res.output
    folder = tmp_path / "Clinic"
    assert "paste main.py into its main.py tab" in res.output
    main_py = (folder / "main.py").read_text()
    assert main_py.startswith('"""ECM monthly close for xlwings Lite')
    assert "from ecm_xl.lite import ECM_CODE, ECM_UNITS, fill_timesheet, monthly_close" in main_py
    assert (folder / "requirements.txt").read_text() == f"xlwings=={xw.__version__}\n"
    assert load_workbook(folder / "ECM_Timesheet.xlsx").sheetnames[:2] == ["Instructions", "Setup"]
    # a second run overwrites nothing and says which file is in the way
    again = CliRunner().invoke(cli, ["init", str(folder), "--lite"])
    assert again.exit_code == 2 and "already exists" in again.output
    assert (folder / "main.py").read_text() == main_py


def test_init_lite_bundle_is_the_same_for_the_same_sources():
    from ecm_xl.lite_bundle import bundle_zip, lite_main_py
    assert bundle_zip() == bundle_zip()
    assert lite_main_py() == lite_main_py()
    with zipfile.ZipFile(__import__("io").BytesIO(bundle_zip())) as z:
        names = set(z.namelist())
    assert "ecm_xl/engine.py" in names and "ecm_xl/profiles/chpiv-healthnet-ecm-ffs.toml" in names
    assert not any(n.endswith(("cli.py", "api.py")) or "/xlsx/" in n or "/exports/" in n for n in names)


def test_init_lite_and_xlsm_do_not_mix(tmp_path):
    from click.testing import CliRunner

    from ecm_xl.cli import main as cli
    res = CliRunner().invoke(cli, ["init", str(tmp_path), "--lite", "--xlsm"])
    assert res.exit_code == 2 and "--lite writes an .xlsx" in res.output
    assert list(tmp_path.iterdir()) == []
