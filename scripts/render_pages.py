"""Render the demo month's closed workbook as a clerk prints it: the README's page pictures.

    python scripts/render_pages.py                 # docs/closed-summary.png, docs/closed-exceptions.png
    python scripts/render_pages.py --dpi 80 --out docs

Makes the demo month (`ecm-xl demo`) in a temporary folder, has LibreOffice
headless print the closed workbook to PDF, and turns the first Summary page and
the first Exceptions page into PNG files (poppler's pdftoppm), one whole page
each. Needs LibreOffice (soffice) and poppler-utils.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from libreoffice import LibreOfficeError, find_pdftoppm, to_pdf  # noqa: E402
from pdf_layout import read_pages  # noqa: E402

from ecm_xl import api  # noqa: E402
from ecm_xl import contract as C  # noqa: E402

PICTURES = {C.SUMMARY: "closed-summary.png", C.EXCEPTIONS: "closed-exceptions.png"}


def render(out: Path, dpi: int = 70) -> list:
    """Write one PNG per sheet in PICTURES into `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="ecm-pages-") as tmp:
        report = api.demo(Path(tmp) / "demo")
        pdf = to_pdf(report.close.out, Path(tmp) / "closed.pdf")
        pages = read_pages(pdf)
        for sheet, name in PICTURES.items():
            page = next((p.number for p in pages if p.sheet == sheet), None)
            if page is None:
                raise LibreOfficeError(f"{pdf.name}: no page of the {sheet} sheet")
            stem = Path(tmp) / sheet
            subprocess.run([find_pdftoppm(), "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),
                            "-singlefile", str(pdf), str(stem)], check=True, capture_output=True)
            dest = out / name
            shutil.move(str(stem.with_suffix(".png")), dest)
            written.append(dest)
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs"), help="folder for the PNG files (default: docs)")
    ap.add_argument("--dpi", type=int, default=70, help="resolution (default 70: a page is about 770 x 595)")
    args = ap.parse_args(argv)
    if shutil.which("soffice") is None or find_pdftoppm() is None:
        print("error: needs LibreOffice (soffice) and poppler-utils (pdftoppm) on PATH", file=sys.stderr)
        return 2
    for path in render(Path(args.out), args.dpi):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
