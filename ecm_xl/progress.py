"""Progress of long work, reported through a callback the caller gives: no prints here.

Every long API function (`close_workbook`, `fill_workbook`, `export_workbook`,
`batch_close`) takes `progress=`, a callable `progress(done, total, what="")`:
`done` of `total` steps are finished and `what` is the step now running, in a
few words that name files and counts, never a member. The command line
draws it on a terminal; Python callers may log it or ignore it.

    api.close_workbook("October.xlsx", progress=lambda done, total, what="": print(done, total, what))
"""
from __future__ import annotations


def stages(progress, total: int):
    """step(what): tell `progress` that the next of `total` steps starts (the first call
    is step 0 of total); step() after the last one says all are done."""
    done = -1

    def step(what: str = "") -> None:
        nonlocal done
        done = min(done + 1, total)
        if progress is not None:
            progress(done, total, what)
    return step
