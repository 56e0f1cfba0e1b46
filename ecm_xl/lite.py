"""ECM monthly close for xlwings Lite: the scripts and functions Lite's pane offers.

Lite can't install ecm-xl from a package index, so `ecm-xl init --lite DIR`
writes a main.py that carries this module with the ecm_xl core inside it
(ecm_xl.lite_bundle), and a requirements.txt with one line:

    xlwings==0.37.8

Then the xlwings Lite task pane offers two scripts, "Monthly close" and
"Fill codes", and cells can call =ECM_CODE(...) and =ECM_UNITS(...).
Everything runs inside Excel (Python in the browser, Pyodide): this module
and the ecm_xl core import no compiled package but what Pyodide ships, and
no process pool. tests/excel/test_lite_pyodide.py runs them in real Pyodide.
"""
import xlwings as xw
from xlwings import func, script

from ecm_xl import excel


def _run(book, action):
    """Run one button; a workbook that can't be used gets one line, not a traceback."""
    try:
        action(book)
    except excel.ExcelError as e:
        book.app.alert(str(e), title=excel.TITLE)


@script(name="Monthly close")
def monthly_close(book: xw.Book):
    """Close the month: Summary, Claim and Exceptions from Setup, Staff, Members and Timesheet."""
    _run(book, excel.monthly_close)


@script(name="Fill codes")
def fill_timesheet(book: xw.Book):
    """Fill blank HCPCS and modifier cells of the Timesheet from the code table (R5)."""
    _run(book, excel.fill_timesheet)


@func
def ECM_CODE(staff_type, service, contact):
    """The HCPCS code and modifiers for a staff type, service and contact, e.g. "G9008 U1 GQ"."""
    return excel.code_for(staff_type, service, contact)


@func
def ECM_UNITS(minutes, unit_minutes=None):
    """Units for minutes of care, rounded up (unit minutes default to the plan's 60)."""
    return excel.units_for(minutes, unit_minutes)
