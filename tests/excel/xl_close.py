"""Run a workbook's close both ways and read back what each left in the file.

* Excel: the workbook's payload becomes a remote-engine Book, `monthly_close`
  runs on it, and the actions it returns are carried out on a copy of the
  file with openpyxl (xl_apply), as an Excel client would.
* Headless: the same file through `ecm_xl.api.close_workbook` (the headless
  reader, the engine and the headless writer).
"""
from __future__ import annotations

import datetime as dt
import shutil

from openpyxl import load_workbook

from ecm_xl import contract as C
from ecm_xl import excel
from ecm_xl.api import close_workbook
from xl_apply import apply_actions
from xl_books import table_rows
from xl_payload import actions, make_book, payload_from_xlsx


def excel_close(src, dst, *, close_date, payload=None):
    """(CloseResult, actions, alerts) of monthly_close on src's payload; dst = src with the actions applied."""
    book = make_book(payload or payload_from_xlsx(src))
    result = excel.monthly_close(book, close_date=close_date)
    acts = actions(book)
    shutil.copyfile(src, dst)
    wb = load_workbook(dst)
    alerts = apply_actions(wb, acts)
    wb.save(dst)
    return result, acts, alerts


def headless_close(src, dst, *, close_date):
    """The headless close of src (what `ecm-xl close` does), written to dst; its CloseResult."""
    return close_workbook(src, dst, close_date=close_date).result


def norm(v):
    """A cell value for comparing: dates as dates, whole numbers as int, blank as None."""
    if v == "" or v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.date() if v.time() == dt.time(0) else v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, float):
        return round(v, 9)
    return v


def output_values(path) -> dict:
    """{table: (headers, rows)} of the three output tables, values normalised."""
    out = {}
    wb = load_workbook(path)
    for name in C.OUTPUT_TABLES:
        headers, rows = table_rows(wb, name)
        out[name] = (list(headers), [[norm(v) for v in r] for r in rows])
    return out
