"""`ecm-xl init --lite`: everything xlwings Lite needs, as files a clerk pastes in.

xlwings Lite runs Python inside Excel (Pyodide) and installs packages with
micropip from a package index. ecm-xl is not on one, so Lite can't fetch it.
Instead, `main.py` carries the part of ecm-xl that Lite runs: the pure engine,
the plan profiles and the Excel layer, packed as a zip inside the file. When
Lite runs `main.py`, it writes that zip to Pyodide's in-memory disk and
imports from it (Python's own zipimport), then offers the scripts "Monthly
close" and "Fill codes" and the functions =ECM_CODE and =ECM_UNITS.
`requirements.txt` names only xlwings: nothing else has to be fetched.

    write_lite_files("C:/Clinic")  ->  [ECM_Timesheet.xlsx, main.py, requirements.txt]

The bundle holds exactly the modules `ecm_xl.lite` imports at module level,
followed through the package (`lite_modules()`), never the headless reader,
the CLI or the exports, which need packages Pyodide lacks; a test checks the
list against a real import.
"""
from __future__ import annotations

import ast
import base64
import functools
import hashlib
import io
import zipfile
from importlib import resources
from pathlib import Path

import xlwings

MAIN_PY = "main.py"
REQUIREMENTS_TXT = "requirements.txt"

ENTRY_MODULE = "lite"

_FIXED_TIME = (2020, 1, 1, 0, 0, 0)   # zip entries dated alike: the same sources give the same file

MAIN_TEMPLATE = '''"""ECM monthly close for xlwings Lite ({version}, bundle {digest}).

Paste this whole file into the xlwings Lite editor's main.py tab, and the
matching requirements.txt into its requirements.txt tab. The task pane then
offers two scripts:

    Monthly close   Summary, Claim and Exceptions from Setup, Staff, Members
                    and Timesheet
    Fill codes      blank HCPCS and modifier cells filled from the code table

and cells can call =ECM_CODE(staff type, service, contact) and
=ECM_UNITS(minutes). Everything runs inside Excel: no data leaves the
workbook.

Don't edit the block of letters below: it is ecm-xl itself (its billing
engine, plan profiles and Excel layer, zipped). To update ecm-xl, write a new
main.py with `ecm-xl init --lite` and paste it over this one.
"""
import base64 as _b64
import os as _os
import sys as _sys
import tempfile as _tempfile


def _load_ecm_xl():
    here = _os.path.join(_tempfile.gettempdir(), "ecm_xl-{digest}.zip")
    if not _os.path.exists(here):
        tmp = here + ".part"
        with open(tmp, "wb") as f:
            f.write(_b64.b64decode(_BUNDLE))
        _os.replace(tmp, here)
    if here not in _sys.path:
        _sys.path.insert(0, here)


_BUNDLE = (
{bundle})

_load_ecm_xl()

from ecm_xl.lite import ECM_CODE, ECM_UNITS, fill_timesheet, monthly_close  # noqa: E402,F401
'''

REQUIREMENTS = "xlwings=={xlwings}\n"


@functools.lru_cache(maxsize=1)
def lite_modules() -> tuple:
    """ecm_xl's modules that `ecm_xl.lite` needs: its module-level imports, followed."""
    pkg = resources.files("ecm_xl")
    seen, todo = {"__init__"}, ["__init__", ENTRY_MODULE]
    while todo:
        mod = todo.pop()
        seen.add(mod)
        tree = ast.parse(pkg.joinpath(f"{mod}.py").read_text(encoding="utf-8"))
        for node in tree.body:          # module level only: a function's lazy import is not Lite's
            for name in _package_imports(node):
                if name not in seen and pkg.joinpath(f"{name}.py").is_file():
                    todo.append(name)
    return tuple(sorted(seen))


def _package_imports(node) -> list:
    """Names of ecm_xl modules an import statement loads ('engine' for `from . import engine`)."""
    if isinstance(node, ast.ImportFrom):
        if node.level == 1 or node.module == "ecm_xl" or (node.module or "").startswith("ecm_xl."):
            base = (node.module or "") if node.level == 1 else node.module.removeprefix("ecm_xl").lstrip(".")
            if base:
                return [base.split(".")[0]]
            return [a.name for a in node.names]
    if isinstance(node, ast.Import):
        return [a.name.split(".")[1] for a in node.names if a.name.startswith("ecm_xl.")]
    return []


def bundle_zip() -> bytes:
    """The Lite modules and the shipped plan profiles as a zip (stable bytes for the same sources)."""
    pkg = resources.files("ecm_xl")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        def add(name: str, data: bytes):
            info = zipfile.ZipInfo(f"ecm_xl/{name}", _FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
        for mod in lite_modules():
            add(f"{mod}.py", pkg.joinpath(f"{mod}.py").read_bytes())
        profiles = pkg.joinpath("profiles")
        add("profiles/__init__.py", b"")
        for entry in sorted(profiles.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".toml"):
                add(f"profiles/{entry.name}", entry.read_bytes())
    return out.getvalue()


def lite_main_py() -> str:
    """The text of the main.py that Lite runs."""
    from . import __version__
    data = bundle_zip()
    digest = hashlib.sha256(data).hexdigest()[:12]
    text = base64.b64encode(data).decode("ascii")
    lines = "\n".join(f'    "{text[i:i + 96]}"' for i in range(0, len(text), 96))
    return MAIN_TEMPLATE.format(version=f"ecm-xl {__version__}", digest=digest, bundle=lines)


def lite_requirements() -> str:
    """requirements.txt for Lite: xlwings at the version ecm-xl is tested with, nothing else."""
    return REQUIREMENTS.format(xlwings=xlwings.__version__)


def write_lite_files(folder, *, profile=None, force: bool = False) -> list[Path]:
    """Write the workbook, main.py and requirements.txt into `folder`; nothing is overwritten
    unless `force`.

    The workbook is the template `ecm-xl new` starts from (for `profile`).
    """
    from .api import template_source
    from .excel_init import WORKBOOK_STEM, prepare_folder, write_text
    from .xlsx.package import atomic_write
    folder = Path(folder)
    book = folder / f"{WORKBOOK_STEM}.xlsx"
    paths = [book, folder / MAIN_PY, folder / REQUIREMENTS_TXT]
    prepare_folder(folder, paths, force=force)
    data = template_source(profile)
    atomic_write(str(book), lambda f: f.write(data))
    write_text(paths[1], lite_main_py())
    write_text(paths[2], lite_requirements())
    return paths


__all__ = ["write_lite_files", "lite_main_py", "lite_requirements", "bundle_zip", "lite_modules"]
