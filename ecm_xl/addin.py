"""The desktop Excel entry points, for the classic xlwings add-in.

The add-in's "Run main" button imports the Python file named like the
workbook (ECM_Timesheet.py beside ECM_Timesheet.xlsx) and calls its main();
`ecm-xl init` writes that file, which only imports main from here:

    from ecm_xl.addin import main, fill

`fill` is for a button or macro of your own: RunPython "import ecm_xl.addin; ecm_xl.addin.fill()";
`refresh` likewise updates code cells filled for a staff member's earlier Staff Type.
"""
import xlwings as xw

from . import excel


def _run(action, book=None):
    book = book or xw.Book.caller()
    try:
        action(book)
    except excel.ExcelError as e:
        book.app.alert(str(e), title=excel.TITLE)
    return book


def main():
    """Close the month of the workbook that pressed Run main."""
    _run(excel.monthly_close)


def fill():
    """Fill blank HCPCS and modifier cells of the calling workbook's Timesheet."""
    _run(excel.fill_timesheet)


def refresh():
    """Update code cells filled for an earlier Staff Type on the calling workbook's Timesheet."""
    _run(excel.refresh_codes)
