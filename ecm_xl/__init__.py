"""ecm-xl: Enhanced Care Management claims from clinic timesheets in Excel.

The pure core (no files, no Excel):

    from ecm_xl import close_month, load_profile
    result = close_month(timesheet_rows, staff_rows, member_rows, setup, load_profile())
    result.summary, result.claim_lines, result.problems, result.totals
"""
from .data import (ERROR, WARNING, ClaimLine, CloseResult, Entry, Member, Problem, Setup,
                   Staff, SummaryRow, Table, Totals)
from .engine import close_month, fill_codes
from .profile import Profile, ProfileError, load_profile

__version__ = "0.1.0"
__all__ = [
    "close_month", "fill_codes", "load_profile", "Profile", "ProfileError", "Problem", "Table",
    "ClaimLine", "SummaryRow", "CloseResult", "Totals", "Setup", "Entry", "Member", "Staff",
    "ERROR", "WARNING",
]
