"""How fast `ecm-xl close` is, beside two references measured on the same files.

    python scripts/bench.py                 # 1k, 10k and 100k rows, batch of 200
    python scripts/bench.py --quick         # 1k and 10k rows, batch of 40
    python scripts/bench.py --sizes 5000 --repeat 5 --no-batch
    python scripts/bench.py --against ../old --sizes 100000   # this tree's close beside an older checkout's

For each size it builds a timesheet workbook from the template (through
`new_workbook` and `fill_workbook`; building is not timed), then measures:

- calamine: a read of every sheet with python-calamine alone, the floor
  any reader in Python pays;
- close: `ecm_xl.api.close_workbook` (read, engine, write the three tables
  into a copy), with its split into read / engine / write;
- naive: openpyxl's pipeline (load_workbook, read the tables, the same
  engine, append the output rows to the sheets, save);
- peak MB: the peak resident memory of a fresh process doing one close.

Times are the best of --repeat runs. Then a batch of small workbooks closed
with 1 and with 2 worker processes. Targets (issue 4) at 100k rows: close at
most 2x the calamine read, at least 15x faster than naive, peak at most
400 MB; the batch at least 1.7x faster with 2 workers than with 1.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ecm_xl import api  # noqa: E402
from ecm_xl import contract as C  # noqa: E402
from ecm_xl.demo import DEMO_CLOSE_DATE, make_month, rows_for_size  # noqa: E402

CLOSE_DATE = DEMO_CLOSE_DATE


def build(path: Path, rows: int, seed: int = 1) -> Path:
    """A workbook of about `rows` timesheet rows, rosters scaled to fit (not timed)."""
    m = rows_for_size(rows, seed) if rows > 500 else make_month(seed, members=10, staff=2, per_day=(1, 3),
                                                                  planted=False)
    if rows <= 500:
        m = m._replace(entries=m.entries[:rows])
    api.new_workbook(path, month=m.month, staff=m.staff, members=m.members,
                     settings={k: v for k, v in m.settings.items() if k != "BillingMonth"}, overwrite=True)
    api.fill_workbook(path, m.entries)
    return path


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


# -- the three pipelines ------------------------------------------------------------------
def calamine_read(path: Path) -> None:
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_path(str(path))
    try:
        for name in wb.sheet_names:
            wb.get_sheet_by_name(name).to_python(skip_empty_area=True)
    finally:
        wb.close()


def our_close(path: Path, out: Path) -> None:
    api.close_workbook(path, out, close_date=CLOSE_DATE)


def split_close(path: Path, out: Path) -> tuple:
    """(read, engine, write) seconds of one close, done the way close_workbook does it (the
    wait for a package check still running beside the engine is in the write)."""
    from ecm_xl.engine import gc_paused
    from ecm_xl.tables import output_tables
    from ecm_xl.xlsx import read_workbook, write_tables
    from ecm_xl.xlsx.package import Package
    with gc_paused():
        t0 = time.perf_counter()
        with Package(path) as pkg:      # read once, shared by the reader and the writer
            wb = read_workbook(pkg, required=(C.STAFF, C.MEMBERS, C.TIMESHEET, C.CODES),
                               tables=(C.STAFF, C.MEMBERS, C.TIMESHEET, C.CODES, C.ACTIVITIES), settle_later=True)
            t1 = time.perf_counter()
            result = api.close_result(wb, close_date=CLOSE_DATE)
            t2 = time.perf_counter()
            write_tables(pkg, out, output_tables(result))
            t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def naive_openpyxl(path: Path, out: Path) -> None:
    """The pipeline one writes first: load_workbook, read the tables, the engine, append, save."""
    from openpyxl import load_workbook
    from ecm_xl.engine import close_month
    from ecm_xl.tables import output_tables
    wb = load_workbook(path)
    tables, where = {}, {}
    for ws in wb.worksheets:
        for name, table in ws.tables.items():
            ref = table.ref if hasattr(table, "ref") else table
            cells = ws[ref]
            head = [c.value for c in cells[0]]
            tables[name] = [dict(zip(head, (c.value for c in row))) for row in cells[1:]]
            where[name] = ws
    setup = {}
    for name in C.SETTING_NAMES:
        dn = wb.defined_names.get(name)
        if dn is not None:
            for sheet, coord in dn.destinations:
                setup[name] = wb[sheet][coord.replace("$", "")].value
    result = close_month(tables[C.TIMESHEET], tables[C.STAFF], tables[C.MEMBERS], setup,
                         codes=tables.get(C.CODES), activities=tables.get(C.ACTIVITIES), close_date=CLOSE_DATE)
    for name, (_headers, rows) in output_tables(result).items():
        ws = where[name]
        for row in rows:
            ws.append(row)
    wb.save(out)


def peak_mb(path: Path, out: Path) -> float:
    """Peak resident memory (MB) of a fresh Python process that does one close.

    Read from the child's own /proc/self/status (VmHWM): getrusage's maxrss can
    carry the parent's size across fork and exec.
    """
    code = ("import sys, datetime as dt\n"
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            "from ecm_xl import api\n"
            f"api.close_workbook({str(path)!r}, {str(out)!r}, close_date=dt.date.fromisoformat({CLOSE_DATE.isoformat()!r}))\n"
            "try:\n"
            "    print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))\n"
            "except OSError:\n"
            "    import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    kb = int(done.stdout.strip().splitlines()[-1])
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


# -- report ---------------------------------------------------------------------------------
def run_sizes(sizes, repeat: int, work: Path, naive_max: int) -> list:
    rows = []
    for n in sizes:
        path = build(work / f"timesheet_{n}.xlsx", n)
        out = work / f"timesheet_{n}.closed.xlsx"
        reps = repeat
        cal = best(lambda: calamine_read(path), reps)
        ours = best(lambda: our_close(path, out), reps)
        read, engine, write = split_close(path, out)
        naive = best(lambda: naive_openpyxl(path, work / "naive.xlsx"), 1) if n <= naive_max else None
        mem = peak_mb(path, out)
        rows.append((n, cal, ours, naive, mem, read, engine, write))
        print(f"  {n:>7,} rows: calamine {cal:.3f}s, close {ours:.3f}s "
              f"(read {read:.3f} + engine {engine:.3f} + write {write:.3f}), "
              f"naive {'-' if naive is None else f'{naive:.2f}s'}, peak {mem:.0f} MB", file=sys.stderr)
    return rows


def run_batch(count: int, repeat: int, work: Path) -> tuple:
    from ecm_xl.demo import npi_with_check_digit
    from ecm_xl.xlsx import write_named_cells
    one = build(work / "small.xlsx", 150, seed=3)
    inbox = work / "inbox"
    inbox.mkdir(exist_ok=True)
    for i in range(count):
        # many clinics, one month each: a billing NPI of its own (the same NPI and month
        # in several workbooks is one clinic's month, closed as one job; see clinic_month)
        write_named_cells(one, inbox / f"clinic_{i:03d}.xlsx",
                          {"BillingNPI": npi_with_check_digit(f"{170000000 + i:09d}")})
    times = {}
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for workers in (1, 2):
        def go():
            # the real command in a fresh process: the batch pays its own start-up, and its
            # workers are not forked from this process's large heap
            out = work / f"batch_out_{workers}"
            shutil.rmtree(out, ignore_errors=True)
            done = subprocess.run([sys.executable, "-m", "ecm_xl.cli", "batch", str(inbox), "-o", str(out),
                                   "--workers", str(workers), "--close-date", CLOSE_DATE.isoformat()],
                                  capture_output=True, text=True, env=env)
            if done.returncode:
                sys.exit(f"the batch failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        times[workers] = best(go, repeat)
        print(f"  batch of {count}, {workers} worker(s): {times[workers]:.2f}s "
              f"(load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    return count, times[1], times[2], cpu_control(repeat, work)


CONTROL = """
import sys, time
from concurrent.futures import ProcessPoolExecutor

def burn(n):
    total = 0
    for i in range(n):
        total += i * i
    return total

def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)

if __name__ == "__main__":
    jobs, repeat = [2_000_000] * 8, int(sys.argv[1])
    one = best(lambda: [burn(n) for n in jobs], repeat)
    def two():
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(burn, jobs))
    print(one / best(two, repeat))
"""


def cpu_control(repeat: int, work: Path) -> float:
    """What 2 processes gain over 1 on this machine right now, for pure Python CPU work.

    The ceiling for the batch speedup: on a machine whose other CPU is busy it
    is well under 2x, and the batch can't beat it. Run in a fresh process, as
    the batch is (a child forked from this large process would pay for
    copying its pages).
    """
    script = work / "cpu_control.py"
    script.write_text(CONTROL)
    done = subprocess.run([sys.executable, str(script), str(repeat)], check=True, capture_output=True, text=True)
    return float(done.stdout.strip())


def table(rows, batch) -> str:
    out = ["| rows | calamine read (s) | close (s) | close / calamine | naive openpyxl (s) | naive / close "
           "| close peak (MB) | close = read + engine + write (s) |",
           "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for n, cal, ours, naive, mem, read, engine, write in rows:
        out.append(f"| {n:,} | {cal:.3f} | {ours:.3f} | {ours / cal:.1f}x | "
                   f"{'-' if naive is None else f'{naive:.2f}'} | "
                   f"{'-' if naive is None else f'{naive / ours:.1f}x'} | {mem:.0f} | "
                   f"{read:.2f} + {engine:.2f} + {write:.2f} |")
    if batch:
        count, t1, t2 = batch[:3]
        out.append("")
        out.append("| batch of small workbooks | 1 worker (s) | 2 workers (s) | speedup |")
        out.append("|---:|---:|---:|---:|")
        out.append(f"| {count} | {t1:.2f} | {t2:.2f} | {t1 / t2:.2f}x |")
        if len(batch) > 3:
            out.append("")
            out.append(f"Control: a pure-CPU busy loop runs {batch[3]:.2f}x faster in 2 processes than in 1 "
                       "on this machine in the same run (the ceiling for the batch speedup).")
    return "\n".join(out)


ONE_CLOSE = """
import sys, time, os, datetime as dt
sys.path.insert(0, {tree!r})
from ecm_xl import api
if os.path.exists({out!r}):
    os.remove({out!r})
t = time.perf_counter()
api.close_workbook({src!r}, {out!r}, close_date=dt.date.fromisoformat({day!r}))
print(time.perf_counter() - t)
"""
ONE_READ = """
import sys, time
sys.path.insert(0, {scripts!r})
from bench import calamine_read
t = time.perf_counter()
calamine_read({src!r})
print(time.perf_counter() - t)
"""


def run_against(sizes, repeat: int, work: Path, other: Path) -> str:
    """The close of this tree and of `other` (an older checkout of ecm-xl) on the same files,
    each in a fresh process, taking turns, beside calamine: what a change cost or saved."""
    def seconds(code: str) -> float:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=work)
        if done.returncode:
            sys.exit(f"a close failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        return float(done.stdout.strip().splitlines()[-1])
    trees = {"this tree": ROOT, str(other): other.resolve()}
    lines = [f"| rows | calamine (s) | {' | '.join(f'close, {k} (s)' for k in trees)} |",
             "|---:|---:|" + "---:|" * len(trees)]
    for n in sizes:
        src = build(work / f"against_{n}.xlsx", n)
        times = {"calamine": [], **{k: [] for k in trees}}
        for _ in range(repeat):
            times["calamine"].append(seconds(ONE_READ.format(scripts=str(ROOT / "scripts"), src=str(src))))
            for k, tree in trees.items():
                times[k].append(seconds(ONE_CLOSE.format(tree=str(tree), src=str(src), day=CLOSE_DATE.isoformat(),
                                                         out=str(work / f"against_{n}.closed.xlsx"))))
        best_of = {k: min(v) for k, v in times.items()}
        print(f"  {n:>7,} rows: " + ", ".join(f"{k} {v:.3f}s" for k, v in best_of.items()), file=sys.stderr)
        lines.append(f"| {n:,} | " + " | ".join(f"{best_of[k]:.3f}" for k in ["calamine", *trees]) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], help="comma-separated row counts")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept (default 3)")
    ap.add_argument("--quick", action="store_true", help="1k and 10k rows and a batch of 40")
    ap.add_argument("--batch", type=int, help="workbooks in the batch run (default 200; 40 with --quick)")
    ap.add_argument("--no-batch", action="store_true", help="skip the batch run")
    ap.add_argument("--naive-max", type=int, default=10**9, help="skip the naive pipeline above this many rows")
    ap.add_argument("--keep", metavar="DIR", help="build the workbooks in DIR and keep them")
    ap.add_argument("--against", metavar="TREE", type=Path,
                    help="only compare this tree's close with another checkout's (git worktree add TREE REV), "
                         "fresh processes taking turns on the same files")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([1_000, 10_000] if args.quick else [1_000, 10_000, 100_000])
    count = args.batch or (40 if args.quick else 200)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ecm-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"ecm-xl benchmark, {dt.date.today()}, Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at start; best of {args.repeat}",
              file=sys.stderr)
        if args.against is not None:
            print(run_against(args.sizes or [10_000, 100_000], args.repeat, work, args.against))
            return 0
        rows = run_sizes(sizes, args.repeat, work, args.naive_max)
        batch = None if args.no_batch else run_batch(count, args.repeat, work)
        print(table(rows, batch))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
