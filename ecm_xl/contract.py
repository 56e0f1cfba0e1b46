"""The workbook contract of SPEC §3: sheet, table, header and setting names.

Every adapter (template builder, headless reader and writer, xlwings layer)
finds data through these names, never through cell addresses.
"""
from __future__ import annotations

from typing import NamedTuple

# -- input tables -------------------------------------------------------------
STAFF = "Staff"
MEMBERS = "Members"
TIMESHEET = "Timesheet"
CODES = "Codes"
ACTIVITIES = "Activities"
SETUP = "Setup"
LISTS = "Lists"
INSTRUCTIONS = "Instructions"

STAFF_HEADERS = ("Staff ID", "Staff Name", "Staff Type", "NPI")
MEMBER_HEADERS = ("Member ID", "Last Name", "First Name", "Date of Birth", "Sex",
                  "ECM Enrollment Date", "Eligible From", "Eligible Through", "Diagnosis Code",
                  "Address", "City", "State", "ZIP")  # the last four: for the 837P
TIMESHEET_HEADERS = ("Date", "Staff ID", "Member ID", "Service", "Contact", "Activity",
                     "Start", "End", "Minutes", "Place of Service", "HCPCS",
                     "Modifier 1", "Modifier 2", "Approved", "Notes")
CODE_HEADERS = ("HCPCS", "Modifier 1", "Modifier 2", "Staff Type", "Service",
                "Contact Mode", "Description", "Rate")
ACTIVITY_HEADERS = ("Activity", "Billable", "Reason")

# Which headers each input table must have (a table may carry more).
REQUIRED = {
    STAFF: ("Staff ID", "Staff Type"),
    MEMBERS: ("Member ID", "Eligible From"),
    TIMESHEET: ("Date", "Staff ID", "Member ID", "Service", "Contact", "Minutes"),
}
INPUT_SHEETS = {STAFF: STAFF, MEMBERS: MEMBERS, TIMESHEET: TIMESHEET}  # table -> sheet

# -- output tables ------------------------------------------------------------
SUMMARY = "Summary"
CLAIM = "Claim"
EXCEPTIONS = "Exceptions"

SUMMARY_HEADERS = ("Month", "Member ID", "Member Name", "HCPCS", "Modifier 1",
                   "Modifier 2", "Minutes", "Hours", "Units", "Charge")
CLAIM_HEADERS = ("Claim ID", "Line", "Member ID", "Member Name", "Date of Birth",
                 "From Date", "To Date", "Place of Service", "HCPCS", "Modifier 1",
                 "Modifier 2", "Units", "Rate", "Charge", "Diagnosis Code",
                 "Billing NPI", "Tax ID", "Minutes", "Source Rows")
# SPEC §3's eight columns, then where the problem is (a table may carry more).
EXCEPTION_HEADERS = ("Row", "Date", "Staff ID", "Member ID", "Minutes", "Severity",
                     "Rule", "Reason", "Sheet", "Column")
OUTPUT_TABLES = {SUMMARY: SUMMARY_HEADERS, CLAIM: CLAIM_HEADERS, EXCEPTIONS: EXCEPTION_HEADERS}

# -- the billing cycle after the close (SPEC §5): what was paid, what is left ----
REMITTANCE = "Remittance"
STATUS = "Status"
REMITTANCE_HEADERS = ("Claim ID", "Payer Claim Number", "Claim Status", "Billed", "Paid",
                      "Patient Responsibility", "Line", "HCPCS", "Modifier 1", "Modifier 2", "Units",
                      "Adjustment Group", "Adjustment Code", "Adjustment Amount", "Remark Codes",
                      "Meaning", "ERA File", "Payment Date", "Check or EFT", "Posted")
STATUS_HEADERS = ("Claim ID", "Member ID", "Month", "Charge", "Status", "Sent", "Days Since Sent",
                  "Paid", "Filing Deadline", "Days Left", "Next Step", "Why", "Rows to Fix", "As Of")
# Tables the cycle commands write (never cleared by a close); each on its own sheet.
CYCLE_TABLES = {REMITTANCE: REMITTANCE_HEADERS, STATUS: STATUS_HEADERS}
CYCLE_WIDTHS = {"Claim ID": 19, "Payer Claim Number": 18, "Claim Status": 12, "Meaning": 60, "Why": 60,
                "Next Step": 22, "Rows to Fix": 36, "ERA File": 18, "Posted": 16, "Remark Codes": 12,
                "Check or EFT": 14, "Member ID": 12, "Status": 12, "Adjustment Group": 11,
                "Adjustment Code": 11, "Adjustment Amount": 11, "Payment Date": 11, "Filing Deadline": 11}

# Number formats the writers give each output column (Excel codes).
DATE_FORMAT = "m/d/yyyy"
MONTH_FORMAT = "mmm yyyy"
MONEY_FORMAT = "#,##0.00"
DATETIME_FORMAT = "m/d/yyyy h:mm"
NUMBER_FORMATS = {
    SUMMARY: {"Month": MONTH_FORMAT, "Minutes": "0", "Hours": "0.00", "Units": "0", "Charge": MONEY_FORMAT},
    CLAIM: {"Date of Birth": DATE_FORMAT, "From Date": DATE_FORMAT, "To Date": DATE_FORMAT,
            "Units": "0", "Rate": MONEY_FORMAT, "Charge": MONEY_FORMAT, "Minutes": "0", "Line": "0"},
    EXCEPTIONS: {"Date": DATE_FORMAT, "Minutes": "0", "Row": "0"},
    REMITTANCE: {"Billed": MONEY_FORMAT, "Paid": MONEY_FORMAT, "Patient Responsibility": MONEY_FORMAT,
                 "Adjustment Amount": MONEY_FORMAT, "Line": "0", "Units": "0", "Payment Date": DATE_FORMAT,
                 "Posted": DATETIME_FORMAT, "Payer Claim Number": "@", "Check or EFT": "@"},
    STATUS: {"Month": MONTH_FORMAT, "Charge": MONEY_FORMAT, "Paid": MONEY_FORMAT, "Sent": DATE_FORMAT,
             "Days Since Sent": "0", "Filing Deadline": DATE_FORMAT, "Days Left": "0", "As Of": DATE_FORMAT},
}

# -- records of the billing cycle (SPEC §5) -------------------------------------
# Kept with the month, on their own sheets; a close copies them along and never
# rewrites them. Rows are only ever added: the newest row of a Claim ID wins.
SUBMISSIONS = "Submissions"
SUBMISSION_HEADERS = ("Claim ID", "Member ID", "Month", "Lines", "Units", "Charge", "Fingerprint",
                      "Frequency", "Payer Claim Number", "File", "Interchange Control Number", "Sent",
                      "Status", "Note")
RECORD_TABLES = {SUBMISSIONS: SUBMISSION_HEADERS}
NUMBER_FORMATS[SUBMISSIONS] = {"Month": MONTH_FORMAT, "Units": "0", "Charge": MONEY_FORMAT, "Frequency": "0",
                               "Interchange Control Number": "@", "Payer Claim Number": "@",
                               "Sent": DATETIME_FORMAT}


# -- Setup --------------------------------------------------------------------
class Setting(NamedTuple):
    name: str          # the defined name of its cell, and the key the engine reads
    label: str         # what the Setup sheet says beside it
    kind: str          # text, npi, taxid, month, int, yesno, pos, dx
    help: str
    required_for_837: bool = False


SETTINGS = (
    Setting("ProviderName", "Provider name", "text", "Your organisation's legal name, as on your contract.", True),
    Setting("BillingNPI", "Billing NPI", "npi", "Your organisation's 10-digit National Provider Identifier.", True),
    Setting("TaxID", "Tax ID (EIN)", "taxid", "Your 9-digit federal tax ID, digits only.", True),
    Setting("HealthPlan", "Health plan", "text", "The plan you bill, e.g. Health Net (CHPIV).", True),
    Setting("BillingMonth", "Billing month", "month", "The month you are closing: type its first day, e.g. 10/1/2026."),
    Setting("UnitMinutes", "Unit minutes", "int", "Minutes in one unit of service. The plan says 60."),
    Setting("DefaultDiagnosis", "Default diagnosis code", "dx", "ICD-10 code used when a member has none, e.g. Z71.89."),
    Setting("DefaultPlaceOfService", "Default place of service", "pos", "Place of service for in-person time when a row names none, e.g. 11."),
    Setting("FilingLimitDays", "Filing limit days", "int", "Days after the month of service the plan accepts claims. The plan says 180."),
    Setting("ApprovalRequired", "Approval required", "yesno", "Yes: only rows a supervisor marked Approved are billed."),
    Setting("ProviderAddress", "Provider street address", "text", "Street address of the billing provider (not a PO box).", True),
    Setting("ProviderCity", "Provider city", "text", "City of the billing provider.", True),
    Setting("ProviderState", "Provider state", "text", "Two-letter state, e.g. CA.", True),
    Setting("ProviderZip", "Provider ZIP", "text", "ZIP+4, 9 digits: the 837P requires all nine for the billing provider.", True),
    Setting("ContactName", "Billing contact name", "text", "Who the plan calls about these claims.", True),
    Setting("ContactPhone", "Billing contact phone", "text", "10-digit phone number.", True),
    Setting("SubmitterID", "Submitter ID", "text", "Your submitter ID with the clearinghouse or plan.", True),
    Setting("ReceiverName", "Receiver name", "text", "The clearinghouse or plan receiving the 837P file.", True),
    Setting("ReceiverID", "Receiver ID", "text", "The receiver's ID for the 837P envelope.", True),
    Setting("PayerName", "Payer name", "text", "The payer named on the claims.", True),
    Setting("PayerID", "Payer ID", "text", "The payer's ID for the 837P.", True),
    Setting("Taxonomy", "Billing provider taxonomy", "text",
            "Optional: your 10-character provider taxonomy code (e.g. 251S00000X), if the plan asks for it."),
)
SETTING_NAMES = tuple(s.name for s in SETTINGS)
