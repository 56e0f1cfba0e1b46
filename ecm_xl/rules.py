"""The billing rules of SPEC §2, in words a billing clerk reads.

The engine cites these numbers on every problem; the template's Instructions
sheet is generated from this list, so the two never drift.
"""
from typing import NamedTuple


class Rule(NamedTuple):
    number: str
    title: str
    meaning: str     # what the rule does
    fix: str         # what to do when a row is stopped by it


RULES = (
    Rule("R1", "One hour is one unit",
         "Units are counted in hours of service (the Setup sheet's Unit minutes; the plan says 60).",
         "Set Unit minutes on Setup to a whole number of minutes, or leave it blank for the plan's."),
    Rule("R2", "Care time rounds once a month",
         "ECM service time is added up per member, month and code, across all staff, and rounded up once at month end. Partial hours never carry into the next month.",
         "Nothing to fix: this is how units are counted."),
    Rule("R3", "Outreach is one unit per attempt",
         "Each outreach attempt bills one unit, whatever its minutes or outcome, but only before the member's ECM enrollment date. ECM service bills only from that date: care dated before it is not billed and its minutes do not count toward the month (a member with no enrollment date on file bills with a warning).",
         "Record time after enrollment as ECM service and time before it as an outreach attempt, or correct the date or the ECM Enrollment Date."),
    Rule("R4", "Mass communication never bills",
         "Mass mailings, distribution emails and bulk texts are not outreach or care. An individual text or secure email to the member counts as Text/Email.",
         "Do not bill mass communications; use Text/Email for messages written to one member."),
    Rule("R5", "Code follows staff type and contact",
         "The HCPCS code and modifiers come from the staff member's type, the service and how the member was reached (the plan's code table).",
         "Give the staff member a Staff Type on the Staff sheet, and pick Service and Contact from the drop-downs."),
    Rule("R6", "A typed code must agree",
         "A code, modifier or place of service typed by hand must be the one the plan's code table gives for that staff type, service and contact.",
         "Clear the HCPCS and Modifier cells to let the workbook fill them, or correct them. Codes filled before a Staff Type was corrected: use Refresh codes."),
    Rule("R7", "Not reimbursable",
         "Administrative overhead, billing and claims work, and services covered under another contract are recorded but never billed.",
         "Nothing to fix if the activity is right; otherwise choose the right Activity."),
    Rule("R8", "Eligible on the date",
         "A row bills only if the member is eligible on the service date (Eligible From / Eligible Through on the Members sheet).",
         "Check the member's eligibility for that month and add an eligibility row on Members if it is missing."),
    Rule("R9", "Inside the billing month",
         "When Setup names a billing month, rows dated in another month wait for that month's close.",
         "Close those rows with their own month, or correct the date."),
    Rule("R10", "Staff and member must be on file",
         "Every row's Staff ID and Member ID must be on the Staff and Members sheets, with what a claim needs.",
         "Add the staff member or member, or correct the ID."),
    Rule("R11", "Time must make sense",
         "Minutes must be more than 0 and at most 1,440; End must be after Start; Minutes and End - Start, where both are given, must agree within a minute; one staff member's rows must not overlap or add up to more than 24 hours in a day.",
         "Correct the Start, End or Minutes."),
    Rule("R12", "Entered twice",
         "A row identical to an earlier one (date, staff, member, service, contact, start and minutes) is billed once.",
         "Delete the copy, or correct it if it was a different visit."),
    Rule("R13", "Filing deadline",
         "A service older than the plan's filing limit (counted from the end of its month) is still billed but may be denied.",
         "Submit it now and check with the plan."),
    Rule("R14", "Nothing is lost",
         "Every row is either billed on exactly one claim line or listed on Exceptions; minutes billed plus minutes not billed equal the timesheet.",
         "Nothing to fix: this is a check on the close itself."),
    Rule("R15", "Supervisor approval",
         "When Setup says Approval required = Yes, only rows marked Approved are billed.",
         "Have a supervisor mark the row Approved, then close again."),
)
RULES_BY_NUMBER = {r.number: r for r in RULES}
