"""Fixtures for the Excel-layer tests: real xlwings remote-engine books.

xlwings decides at import time whether its remote engine (xlwings PRO) is
available and which `script`/`func` decorators `from xlwings import ...`
gives, so both settings must be in the environment before the first
`import xlwings` of this test process. They live here, in the tests only:
the classic add-in and xlwings Lite need no key. `noncommercial` is the
PolyForm Noncommercial key, free for non-commercial use such as these tests.
"""
import os
import sys

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
os.environ.setdefault("XLWINGS_ON_SERVER", "true")   # the Lite/Server decorators, as in Lite

if "xlwings" in sys.modules and not sys.modules["xlwings"].__pro__:
    raise RuntimeError("xlwings was imported before tests/excel/conftest.py set XLWINGS_LICENSE_KEY; "
                       "run these tests in their own pytest process or set the variable in the environment")

import pytest  # noqa: E402
import xlwings as xw  # noqa: E402

assert xw.__pro__, "the xlwings remote engine did not load"


@pytest.fixture(autouse=True)
def _clear_remote_cache():
    """The remote engine caches every sheet's values in an unbounded lru_cache."""
    yield
    from xlwings.pro import _xlremote
    clear = getattr(getattr(_xlremote, "get_range_api", None), "cache_clear", None)
    if clear:
        clear()



@pytest.fixture(scope="session")
def template(tmp_path_factory):
    """The real template, built by the same code that builds templates/ECM_Timesheet.xlsx."""
    from ecm_xl.template import build_template

    return build_template(tmp_path_factory.mktemp("template") / "ECM_Timesheet.xlsx")
