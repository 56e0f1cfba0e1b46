"""Run jobs in child processes that may die: a death fails only the job it was running.

A workbook from elsewhere can take down the process reading it (a native
library that aborts, the kernel's out-of-memory killer). `run_isolated` runs
each job in a worker process; when a worker dies, the job it held gets
`on_death(job, how)` as its result, a fresh worker takes over, and every other
job runs as if nothing happened. One worker is just as safe as many.

    results = run_isolated(close_one, jobs, workers=2, on_death=failed_item)
"""
from __future__ import annotations

import faulthandler
import multiprocessing as mp
import signal
from multiprocessing.connection import wait
from collections.abc import Callable


def _serve(conn, func):
    """A worker: run func on each job received until told to stop (None)."""
    faulthandler.disable()      # a death is reported as one line by the parent, not a stack dump
    try:
        while True:
            msg = conn.recv()
            if msg is None:
                return
            i, job = msg
            conn.send((i, func(job)))
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        return


class _Worker:
    def __init__(self, ctx, func):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, func), daemon=True)
        self.proc.start()
        child.close()
        self.job = None          # index of the job it holds

    def stop(self):
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


def how_it_died(exitcode) -> str:
    """Plain words for a worker's end: 'killed by signal SIGKILL', 'exited with status 1'."""
    if exitcode is None:
        return "stopped"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = {"SIGKILL": ", often the system running out of memory",
                "SIGABRT": ", a library it uses aborted",
                "SIGSEGV": ", a library it uses crashed"}.get(name, "")
        return f"killed by {name}{hint}"
    return f"exited with status {exitcode}"


def run_isolated(func: Callable, jobs: list, workers: int, on_death: Callable,
                 on_done: Callable | None = None) -> list:
    """[func(job) for job in jobs], each run in a worker process (in input order).

    func and each job and result must pickle (func at module level). A job whose
    worker dies gets on_death(job, how) instead. on_done(i, result) is called as
    each job finishes, in the order they finish.
    """
    ctx = mp.get_context()
    results = [None] * len(jobs)
    pending = list(range(len(jobs)))[::-1]     # popped from the end: input order
    pool = []
    try:
        while pending or any(w.job is not None for w in pool):
            while pending and len([w for w in pool if w.job is not None]) < workers:
                idle = next((w for w in pool if w.job is None), None)
                if idle is None:
                    idle = _Worker(ctx, func)
                    pool.append(idle)
                i = pending.pop()
                try:
                    idle.conn.send((i, jobs[i]))
                    idle.job = i
                except (OSError, ValueError):      # died between jobs: replace it, keep the job
                    pending.append(i)
                    pool.remove(idle)
                    idle.stop()
            busy = {w.conn: w for w in pool if w.job is not None}
            busy.update({w.proc.sentinel: w for w in pool if w.job is not None})
            for ready in wait(list(busy)):
                w = busy[ready]
                if w.job is None:
                    continue                       # both its pipe and its sentinel were ready
                i = w.job
                try:
                    if w.conn.poll():
                        got, result = w.conn.recv()
                        results[got] = result
                        w.job = None
                        if on_done:
                            on_done(got, result)
                        continue
                    if w.proc.is_alive():
                        continue                   # woke with nothing to read yet
                except (EOFError, OSError):
                    pass                           # its end of the pipe closed: it died
                w.proc.join(5)
                if w.proc.is_alive():
                    w.proc.kill()
                    w.proc.join()
                results[i] = on_death(jobs[i], how_it_died(w.proc.exitcode))
                w.job = None
                pool.remove(w)
                w.conn.close()
                if on_done:
                    on_done(i, results[i])
    finally:
        for w in pool:
            w.stop()
    return results
