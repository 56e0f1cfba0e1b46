"""xlwings Lite for real: the files `ecm-xl init --lite` writes, run in Pyodide under Node.

xlwings Lite is Pyodide (CPython compiled to WebAssembly) inside Excel. These
tests take the `pyodide` npm package, install the wheels that the written
requirements.txt names with micropip (from local files: the tests download
pure-Python wheels from the package index first, never Pyodide's CDN), load
the written main.py as Lite does, and run its scripts and functions on the
demo month through xlwings' remote engine. The Excel actions they queue must
equal those the same scripts queue in CPython.

What is not here: Excel itself and the Lite task pane (Office.js), which we
can't run. The remote engine's Book is the object Lite's scripts receive.

Node and npm are needed; without them the tests skip with the reason, except
where ECM_XL_REQUIRE_PYODIDE=1 (set by .ci/run), where they fail.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xlwings as xw
from click.testing import CliRunner
from xlwings.server import custom_functions_call, custom_scripts_call

from ecm_xl import api
from ecm_xl.cli import main as cli
from ecm_xl.lite_bundle import lite_modules
from xl_payload import actions, make_book, payload_from_xlsx

PYODIDE_VERSION = "314.0.8"               # Python 3.14, as xlwings Lite ships it
PYODIDE_PYTHON = "3.14"
ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("ECM_XL_TEST_CACHE", ROOT / ".cache" / "test-tools"))
RUNNER = ROOT / "tests" / "lite" / "run_pyodide.mjs"
MARK = "ECM-XL-RESULT "
# What the Lite path must never pull into Pyodide (compiled, or not needed there).
NOT_IN_LITE = ("pandas", "numpy", "openpyxl", "python_calamine", "click", "dateutil", "pytz", "six",
               "multiprocessing", "concurrent.futures.process")


def _missing(reason: str):
    if os.environ.get("ECM_XL_REQUIRE_PYODIDE") == "1":
        pytest.fail(f"{reason} (ECM_XL_REQUIRE_PYODIDE=1: the Pyodide tests must run)")
    pytest.skip(reason)


def _run(cmd, what: str):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        _missing(f"{what} failed: {(out.stderr or out.stdout).strip()[-400:]}")


@pytest.fixture(scope="session")
def pyodide_dir() -> Path:
    """The `pyodide` npm package, installed once into the test cache."""
    if not shutil.which("node") or not shutil.which("npm"):
        _missing("Node.js and npm are not installed")
    prefix = CACHE / f"pyodide-{PYODIDE_VERSION}"
    pkg = prefix / "node_modules" / "pyodide"
    if not (pkg / "pyodide.mjs").is_file():
        prefix.mkdir(parents=True, exist_ok=True)
        _run(["npm", "install", "--prefix", str(prefix), "--no-save", "--no-audit", "--no-fund",
              "--silent", f"pyodide@{PYODIDE_VERSION}"], "npm install pyodide")
    return pkg


def _wheel(folder: Path, requirement: str) -> Path:
    """The pure-Python wheel of `requirement` for Pyodide's Python, downloaded once."""
    name = requirement.split("=")[0].split("<")[0].split(">")[0].strip().lower().replace("-", "_")
    found = sorted(folder.glob(f"{name}-*-py3-none-any.whl")) + sorted(folder.glob(f"{name}-*-py2.py3-none-any.whl"))
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
              "--python-version", PYODIDE_PYTHON, "--platform", "any", "-d", str(folder), requirement],
             f"downloading the {requirement} wheel")
        found = sorted(folder.glob(f"{name}-*.whl"))
    assert len(found) == 1 and found[0].name.endswith("-none-any.whl"), \
        f"{requirement}: expected one pure-Python wheel, found {[f.name for f in found]}"
    return found[0]


@pytest.fixture(scope="session")
def lite_files(tmp_path_factory) -> Path:
    """What a clinic gets from `ecm-xl init --lite`."""
    folder = tmp_path_factory.mktemp("lite") / "Clinic"
    res = CliRunner().invoke(cli, ["init", str(folder), "--lite"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in folder.iterdir()) == ["ECM_Timesheet.xlsx", "main.py", "requirements.txt"]
    return folder


@pytest.fixture(scope="session")
def demo_payload(tmp_path_factory) -> dict:
    """The demo month's filled workbook as the Lite client sends it."""
    report = api.demo(tmp_path_factory.mktemp("demo") / "demo")
    return payload_from_xlsx(report.workbook)


def run_in_pyodide(pyodide_dir: Path, lite_files: Path, payload: dict, code: str, tmp_path: Path):
    """Run `code` in Pyodide with main.py and requirements.txt installed as Lite installs them."""
    requirements = [r.strip() for r in (lite_files / "requirements.txt").read_text().splitlines()
                    if r.strip() and not r.startswith("#")]
    wheels = CACHE / "wheels"
    payload_file = tmp_path / "payload.json"
    payload_file.write_text(json.dumps(payload))
    job = {
        "pyodide": str(pyodide_dir),
        "bootstrap": [str(_wheel(wheels, "micropip")), str(_wheel(wheels, "packaging"))],
        "install": [str(_wheel(wheels, r)) for r in requirements],
        "files": {"/home/pyodide/main.py": str(lite_files / "main.py"),
                  "/home/pyodide/payload.json": str(payload_file)},
        # the xlwings remote engine (what Lite's scripts receive) with the free
        # noncommercial key, as the CPython Excel-layer tests use it
        "env": {"XLWINGS_LICENSE_KEY": "noncommercial", "XLWINGS_ON_SERVER": "true"},
        "cwd": "/home/pyodide",
        "code": code,
    }
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(job))
    out = subprocess.run(["node", str(RUNNER), str(job_file)], capture_output=True, text=True, timeout=600)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith(MARK)]
    assert out.returncode == 0 and lines, f"Pyodide run failed:\n{out.stderr[-3000:]}\n{out.stdout[-2000:]}"
    return json.loads(lines[-1][len(MARK):])


PYODIDE_CODE = f'''
import json, sys
import xlwings as xw
from xlwings.server import custom_functions_call, custom_scripts_call
import main

payload = json.load(open("payload.json"))
out = {{"python": sys.version.split()[0], "platform": sys.platform, "scripts": {{}}, "functions": {{}}}}
for script in ("monthly_close", "fill_timesheet"):
    book = xw.Book(json=json.loads(json.dumps(payload)))
    await custom_scripts_call(main, script, typehint_to_value={{xw.Book: book}})
    out["scripts"][script] = book.json()["actions"]
for name, args in (("ECM_CODE", ["Non-clinical", "Outreach attempt", "Text/Email"]), ("ECM_UNITS", [61])):
    data = {{"client": "Office.js", "version": xw.__version__, "runtime": "1.4", "func_name": name,
            "args": [[[a]] for a in args], "caller_address": "[month.xlsx]Timesheet!U2",
            "culture_info_name": "en-US", "date_format": "m/d/yyyy", "session_id": "test"}}
    out["functions"][name] = await custom_functions_call(data, main)
out["ours"] = sorted(m for m in sys.modules if m == "ecm_xl" or m.startswith("ecm_xl."))
out["ecm_xl_from"] = sys.modules["ecm_xl"].__file__
out["not_in_lite"] = sorted(m for m in {list(NOT_IN_LITE)!r} if m in sys.modules)
print("{MARK}" + json.dumps(out))
'''


def _cpython_run(payload: dict) -> dict:
    import ecm_xl.lite
    scripts = {}
    for script in ("monthly_close", "fill_timesheet"):
        book = make_book(payload)
        asyncio.run(custom_scripts_call(ecm_xl.lite, script, typehint_to_value={xw.Book: book}))
        scripts[script] = actions(book)
    return json.loads(json.dumps(scripts))   # the same JSON round trip the Pyodide side made


@pytest.fixture(scope="module")
def in_pyodide(pyodide_dir, lite_files, demo_payload, tmp_path_factory) -> dict:
    """One Pyodide run: both scripts and both functions on the demo month."""
    return run_in_pyodide(pyodide_dir, lite_files, demo_payload, PYODIDE_CODE, tmp_path_factory.mktemp("pyodide"))


def test_lite_main_py_closes_the_demo_month_in_pyodide_as_in_cpython(in_pyodide, demo_payload):
    got = in_pyodide
    assert got["platform"] == "emscripten" and got["python"].startswith(PYODIDE_PYTHON)
    want = _cpython_run(demo_payload)
    close = got["scripts"]["monthly_close"]
    # the close wrote Summary, Claim and Exceptions (and said so), exactly as in CPython
    assert [a["func"] for a in close].count("setValues") == 3
    assert close == want["monthly_close"]
    assert got["scripts"]["fill_timesheet"] == want["fill_timesheet"]
    assert got["functions"]["ECM_CODE"] == [["G9012 U8 GQ"]]     # SPEC R5: non-clinical outreach, text
    assert got["functions"]["ECM_UNITS"] == [[2]]                # R2: 61 minutes round up to 2 units


def test_lite_main_py_imports_only_the_bundled_core(in_pyodide):
    """ecm-xl comes from the zip inside main.py (no package fetched), with nothing Lite can't load."""
    got = in_pyodide
    assert ".zip" in got["ecm_xl_from"]
    bundled = {"ecm_xl"} | {f"ecm_xl.{m}" for m in lite_modules() if m != "__init__"} | {"ecm_xl.profiles"}
    assert set(got["ours"]) <= bundled
    assert got["not_in_lite"] == []


def test_lite_requirements_name_only_what_lite_must_fetch(lite_files):
    reqs = [r for r in (lite_files / "requirements.txt").read_text().splitlines() if r.strip()]
    assert reqs == [f"xlwings=={xw.__version__}"]
