"""Rebuild templates/ECM_Timesheet.xlsx from the plan profile.

    python scripts/build_template.py [--profile NAME_OR_TOML] [--out PATH]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ecm_xl.profile import ProfileError, load_profile  # noqa: E402
from ecm_xl.template import build_template  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", help="plan profile id or .toml path (default: the shipped profile)")
    ap.add_argument("--out", default=str(ROOT / "templates" / "ECM_Timesheet.xlsx"), help="where to write it")
    args = ap.parse_args(argv)
    try:
        profile = load_profile(args.profile)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        path = build_template(args.out, profile)
    except OSError as exc:
        print(f"error: {args.out}: can't write the template ({exc.strerror or exc})", file=sys.stderr)
        return 1
    print(f"wrote {path} ({profile.id} {profile.version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
