"""Every text file Excel saves is read as text, through `ecm-xl fill` and `ecm-xl new`.

Excel's Save As offers: "CSV UTF-8" (UTF-8 with a byte-order mark, commas), "CSV" (the
Windows code page, 1252 in the US, and semicolons where the decimal mark is a comma),
"Text (Tab delimited)" (code page 1252, tabs) and "Unicode Text" (UTF-16 little-endian
with a byte-order mark, tabs, CRLF). The files here are those bytes, made by hand.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ecm_xl import contract as C
from ecm_xl.cli import main
from ecm_xl.xlsx import read_workbook

from cli_workbooks import MEMBERS, small_workbook

HEADERS = ["Date", "Staff ID", "Member ID", "Service", "Contact", "Minutes", "Notes"]
ROWS = [["10/5/2026", "C1", "91000001A", "ECM service", "In person", "50", "Café visit – follow-up"],
        ["10/6/2026", "N1", "91000001A", "ECM service", "Phone/Telehealth", "20", "called; left message"]]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def text_of(delim: str, quote_cells_with: str = "") -> str:
    def cell(v):
        return f'"{v}"' if quote_cells_with and quote_cells_with in v else v
    return "\r\n".join(delim.join(cell(v) for v in r) for r in [HEADERS, *ROWS]) + "\r\n"


VARIANTS = {
    "Unicode Text (UTF-16 LE, BOM, tabs)": ("txt", b"\xff\xfe" + text_of("\t").encode("utf-16-le")),
    "UTF-16 BE with BOM": ("txt", b"\xfe\xff" + text_of("\t").encode("utf-16-be")),
    "UTF-16 LE without BOM": ("txt", text_of("\t").encode("utf-16-le")),
    "CSV UTF-8 (BOM)": ("csv", text_of(",", ",").encode("utf-8-sig")),
    "CSV in Windows-1252": ("csv", text_of(",", ",").encode("cp1252")),
    "CSV with semicolons, cp1252": ("csv", text_of(";", ";").encode("cp1252")),
    "Text (Tab delimited), cp1252": ("txt", text_of("\t").encode("cp1252")),
    "sep=; hint line": ("csv", ("sep=;\r\n" + text_of(";", ";")).encode("utf-8-sig")),
    "old Mac CR line ends": ("csv", text_of(",", ",").replace("\r\n", "\r").encode("utf-8")),
}


@pytest.fixture(scope="module")
def empty_book(tmp_path_factory) -> Path:
    return small_workbook(tmp_path_factory.mktemp("text") / "Oct.xlsx", entries=[])


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_fill_reads_every_excel_text_export(empty_book, tmp_path, variant):
    ext, data = VARIANTS[variant]
    entries = tmp_path / f"entries.{ext}"
    entries.write_bytes(data)
    book = tmp_path / "Oct.xlsx"
    book.write_bytes(empty_book.read_bytes())
    r = run("fill", book, "--entries", entries)
    assert r.exit_code == 0, r.output
    assert r.output.startswith("Added 2 time entries")
    rows = read_workbook(book).tables[C.TIMESHEET].rows
    got = [(str(x["Member ID"]), x["Contact"], x["Minutes"], x["Notes"]) for x in rows if x.get("Member ID")]
    assert got == [("91000001A", "In person", 50, "Café visit – follow-up"),
                   ("91000001A", "Phone/Telehealth", 20, "called; left message")]


def test_new_reads_a_unicode_text_roster(tmp_path):
    heads = list(MEMBERS[0])
    text = "\r\n".join("\t".join(str(m[h]) for h in heads) for m in [dict(zip(heads, heads)), *MEMBERS])
    roster = tmp_path / "members.txt"
    roster.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    r = run("new", tmp_path / "New.xlsx", "--members", roster)
    assert r.exit_code == 0, r.output
    assert "2 member rows" in r.output


@pytest.mark.parametrize("name, data", [
    ("workbook.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)) * 8),
    ("picture.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300)),
])
def test_binary_renamed_csv_is_still_refused(empty_book, tmp_path, name, data):
    entries = tmp_path / name
    entries.write_bytes(data)
    r = run("fill", empty_book, "--entries", entries)
    assert r.exit_code == 2
    assert r.stderr.strip() == f"ecm-xl: {name}: is not a text CSV file (it holds binary data)"
