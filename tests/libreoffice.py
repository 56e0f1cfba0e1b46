"""Run LibreOffice headless as a real spreadsheet engine for tests.

Every call starts `soffice` with its own fresh profile directory (so runs never
share or lock a user profile) whose settings make Calc recalculate every
formula when it loads an xlsx file, instead of trusting the cached values.

    from tests.libreoffice import recalculate, to_pdf, soffice_or_skip
    soffice_or_skip()                      # pytest: skip, or fail when CI requires LibreOffice
    out = recalculate("book.xlsx", "book.recalc.xlsx")   # read it with openpyxl data_only=True
    pdf = to_pdf("book.xlsx", "book.pdf")
    pngs = pdf_to_png(pdf, "page", dpi=110)

Needs Debian's libreoffice-calc-nogui (soffice) and poppler-utils (pdftoppm).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

REQUIRE_ENV = "ECM_XL_REQUIRE_LIBREOFFICE"
TIMEOUT = 240

# Calc/Formula/Load recalc modes: 0 = always recalculate, 1 = never, 2 = ask.
_PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">\
<value>{mode}</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">\
<value>{mode}</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse">\
<value>false</value></prop></item>
</oor:items>
"""


class LibreOfficeError(RuntimeError):
    """soffice failed or wrote nothing; the message says which file and why, in one line."""


def find_soffice() -> str | None:
    """The soffice (or libreoffice) executable, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def find_pdftoppm() -> str | None:
    return shutil.which("pdftoppm")


def required() -> bool:
    """True when CI demands LibreOffice (ECM_XL_REQUIRE_LIBREOFFICE=1): absence is a failure."""
    return os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0", "false", "no")


def soffice_or_skip(need_pdftoppm: bool = False) -> str:
    """For pytest: the soffice path; else skip with the reason, or fail where it is required."""
    import pytest

    missing = []
    soffice = find_soffice()
    if soffice is None:
        missing.append("LibreOffice (soffice; Debian package libreoffice-calc-nogui)")
    if need_pdftoppm and find_pdftoppm() is None:
        missing.append("pdftoppm (Debian package poppler-utils)")
    if missing:
        reason = "needs " + " and ".join(missing) + " on PATH"
        if required():
            pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
        pytest.skip(reason)
    return soffice


def _profile_dir(root: Path, recalc: bool) -> Path:
    user = root / "user"
    user.mkdir(parents=True)
    (user / "registrymodifications.xcu").write_text(_PROFILE_SETTINGS.format(mode=0 if recalc else 1),
                                                    encoding="utf-8")
    return root


def convert(src: str | Path, outdir: str | Path, target: str = "xlsx", *, recalc: bool = True,
            timeout: int = TIMEOUT) -> Path:
    """Open `src` in LibreOffice headless and save it as `target` (a --convert-to spec,
    e.g. "xlsx", "pdf", 'pdf:calc_pdf_Export:{...}') in `outdir`; returns the new file.

    With recalc=True (the default) every formula is recalculated on load.
    """
    soffice = find_soffice()
    src, outdir = Path(src).resolve(), Path(outdir).resolve()
    if soffice is None:
        raise LibreOfficeError(f"{src.name}: LibreOffice (soffice) is not installed")
    if not src.is_file():
        raise LibreOfficeError(f"{src}: no such file")
    outdir.mkdir(parents=True, exist_ok=True)
    ext = target.split(":", 1)[0]
    out = outdir / f"{src.stem}.{ext}"
    if out == src:
        raise LibreOfficeError(f"{src.name}: output would overwrite the input; pick another outdir")
    with tempfile.TemporaryDirectory(prefix="ecm-lo-profile-") as tmp:
        profile = _profile_dir(Path(tmp) / "profile", recalc)
        cmd = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--invisible",
               "--norestore", "--nologo", "--nodefault", "--nolockcheck",
               "--convert-to", target, "--outdir", str(outdir), str(src)]
        env = dict(os.environ, HOME=tmp, SAL_USE_VCLPLUGIN="svp")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise LibreOfficeError(f"{src.name}: LibreOffice did not finish within {timeout} s") from None
    if proc.returncode != 0 or not out.is_file():
        detail = " ".join((proc.stderr or proc.stdout or "").split())[:300]
        raise LibreOfficeError(f"{src.name}: LibreOffice could not convert it to {ext} "
                               f"(exit {proc.returncode}): {detail}")
    return out


def recalculate(src: str | Path, dest: str | Path, *, timeout: int = TIMEOUT) -> Path:
    """Open `src` in LibreOffice, recalculate every formula, and save the xlsx as `dest`."""
    return _convert_as(src, dest, "xlsx", timeout)


def to_pdf(src: str | Path, dest: str | Path, *, timeout: int = TIMEOUT) -> Path:
    """Render every visible sheet of `src` (recalculated) to the PDF `dest`."""
    return _convert_as(src, dest, "pdf", timeout)


def _convert_as(src, dest, target: str, timeout: int) -> Path:
    dest = Path(dest)
    with tempfile.TemporaryDirectory(prefix="ecm-lo-out-") as tmp:
        out = convert(src, tmp, target, timeout=timeout)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(out), dest)
    return dest


def pdf_to_png(pdf: str | Path, prefix: str | Path, *, dpi: int = 110, first: int | None = None,
               last: int | None = None, timeout: int = 120) -> list[Path]:
    """PNG pages of `pdf` (pdftoppm): files named <prefix>-<n>.png, in page order."""
    exe = find_pdftoppm()
    if exe is None:
        raise LibreOfficeError(f"{Path(pdf).name}: pdftoppm (poppler-utils) is not installed")
    prefix = Path(prefix)
    cmd = [exe, "-png", "-r", str(dpi)]
    if first:
        cmd += ["-f", str(first)]
    if last:
        cmd += ["-l", str(last)]
    proc = subprocess.run(cmd + [str(pdf), str(prefix)], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise LibreOfficeError(f"{Path(pdf).name}: pdftoppm failed (exit {proc.returncode}): "
                               f"{' '.join(proc.stderr.split())[:200]}")
    pages = sorted(prefix.parent.glob(prefix.name + "-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return pages
