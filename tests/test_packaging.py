"""The installed package carries the template `ecm-xl new` starts from."""
import tomllib
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_package_holds_the_committed_template():
    shipped = resources.files("ecm_xl").joinpath("templates", "ECM_Timesheet.xlsx")
    assert shipped.read_bytes() == (ROOT / "templates" / "ECM_Timesheet.xlsx").read_bytes()


def test_the_wheel_takes_the_template_and_profiles():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = config["tool"]["setuptools"]["package-data"]["ecm_xl"]
    assert "templates/*.xlsx" in data and "profiles/*.toml" in data
