"""Data validation: the drop-downs and checks behind every typed cell, with their messages.

Every validation has an input message (what to type) and, where a value can be
wrong, a stop alert saying what is allowed, in the words the close uses.
"""
from __future__ import annotations

from openpyxl.worksheet.datavalidation import DataValidation

from .. import contract as C


def setting_validation(s: C.Setting, cell: str) -> DataValidation:
    kind = s.kind
    if kind == "npi":
        dv = DataValidation(type="custom", formula1=f"AND(LEN({cell})=10,ISNUMBER(VALUE({cell})))")
        err = "An NPI is exactly 10 digits."
    elif kind == "taxid":
        digits = f'SUBSTITUTE({cell},"-","")'
        dv = DataValidation(type="custom", formula1=f"AND(LEN({digits})=9,ISNUMBER(VALUE({digits})))")
        err = "A tax ID is 9 digits (a dash is allowed, e.g. 12-3456789)."
    elif kind == "month":
        dv = DataValidation(type="date", operator="between", formula1="DATE(2000,1,1)", formula2="DATE(2099,12,31)")
        err = "Type the first day of the month, e.g. 10/1/2026."
    elif kind == "int":
        dv = DataValidation(type="whole", operator="greaterThan", formula1="0")
        err = "Type a whole number greater than 0."
    elif kind == "yesno":
        dv = DataValidation(type="list", formula1="YesNoList")
        err = "Pick Yes or No."
    elif kind == "pos":
        dv = DataValidation(type="list", formula1="PlaceOfServiceList")
        err = "Pick a place of service code from the list."
    elif kind == "dx":
        dv = DataValidation(type="textLength", operator="between", formula1="3", formula2="8")
        err = "A diagnosis (ICD-10) code is 3 to 8 characters, e.g. Z71.89."
    else:
        dv = DataValidation()   # any value: the input message still shows
        err = None
    return messages(dv, s.label, s.help, err)


def messages(dv: DataValidation, title: str, prompt: str, error: str | None) -> DataValidation:
    dv.allow_blank = True
    dv.promptTitle, dv.prompt, dv.showInputMessage = title[:32], prompt[:255], True
    if error:
        dv.errorTitle, dv.error, dv.showErrorMessage, dv.errorStyle = title[:32], error[:255], True, "stop"
    return dv


def list_validation(name: str, title: str, prompt: str, error: str) -> DataValidation:
    return messages(DataValidation(type="list", formula1=name), title, prompt, error)


def date_validation(title: str, prompt: str) -> DataValidation:
    dv = DataValidation(type="date", operator="between", formula1="DATE(1900,1,1)", formula2="DATE(2099,12,31)")
    return messages(dv, title, prompt, "Type a date, e.g. 10/14/2026.")


def staff_validations() -> list:
    """[(validation, header)] of the Staff table."""
    return [
        (messages(DataValidation(type="textLength", operator="between", formula1="1", formula2="20"),
                  "Staff ID", "Your own short code for this person, e.g. S01. Each Staff ID once.",
                  "A Staff ID is 1 to 20 characters."), "Staff ID"),
        (list_validation("StaffTypeList", "Staff Type", "Clinical or Non-clinical: it decides the code.",
                         "Pick a Staff Type from the list."), "Staff Type"),
        (messages(DataValidation(type="custom", formula1="AND(LEN(D2)=10,ISNUMBER(VALUE(D2)))"),
                  "NPI", "The person's 10-digit NPI, if they have one.", "An NPI is exactly 10 digits."), "NPI"),
    ]


def member_validations() -> list:
    """[(validation, header)] of the Members table."""
    return [
        (messages(DataValidation(type="textLength", operator="between", formula1="1", formula2="30"),
                  "Member ID", "The member's Medi-Cal ID (CIN). One row per eligibility span.",
                  "A Member ID is 1 to 30 characters."), "Member ID"),
        (date_validation("Date of Birth", "The member's date of birth."), "Date of Birth"),
        (list_validation("SexList", "Sex", "F, M or U (unknown).", "Pick F, M or U."), "Sex"),
        (date_validation("ECM Enrollment Date", "The date the member enrolled in ECM. Blank: not yet enrolled "
                                                "(only outreach attempts bill)."), "ECM Enrollment Date"),
        (date_validation("Eligible From", "First day of this eligibility span."), "Eligible From"),
        (date_validation("Eligible Through", "Last day of this eligibility span. Blank: still eligible."),
         "Eligible Through"),
        (messages(DataValidation(type="textLength", operator="between", formula1="3", formula2="8"),
                  "Diagnosis Code", "ICD-10 code for the claim, e.g. Z59.00. Blank: the Setup default.",
                  "A diagnosis code is 3 to 8 characters."), "Diagnosis Code"),
        (messages(DataValidation(type="textLength", operator="equal", formula1="2"),
                  "State", "Two-letter state, e.g. CA.", "Type the two-letter state, e.g. CA."), "State"),
    ]


def timesheet_validations() -> list:
    """[(validation, header)] of the Timesheet table."""
    minutes = DataValidation(type="decimal", operator="between", formula1="0.01", formula2="1440")

    def time():
        return DataValidation(type="time", operator="between", formula1="0", formula2="0.999988425925926")

    return [
        (date_validation("Date", "Date of the contact, e.g. 10/14/2026."), "Date"),
        (list_validation("StaffIDList", "Staff ID", "Who did the work: pick from the Staff sheet.",
                         "This Staff ID is not on the Staff sheet. Add the person there first."), "Staff ID"),
        (list_validation("MemberIDList", "Member ID", "Which member: pick from the Members sheet.",
                         "This Member ID is not on the Members sheet. Add the member there first."), "Member ID"),
        (list_validation("ServiceList", "Service", "ECM service (care) or Outreach attempt (before enrollment).",
                         "Pick a Service from the list."), "Service"),
        (list_validation("ContactList", "Contact", "How the member was reached.",
                         "Pick a Contact from the list."), "Contact"),
        (list_validation("ActivityList", "Activity", "What the time was for. Some activities never bill.",
                         "Pick an Activity from the list (Lists sheet, Activities)."), "Activity"),
        (messages(time(), "Start", "Start time, e.g. 9:30 AM. Optional if you type Minutes.",
                  "Type a time, e.g. 9:30 AM."), "Start"),
        (messages(time(), "End", "End time, e.g. 10:15 AM. Optional if you type Minutes.",
                  "Type a time, e.g. 10:15 AM."), "End"),
        (messages(minutes, "Minutes", "Minutes spent. Blank: End minus Start.",
                  "Minutes must be more than 0 and at most 1,440."), "Minutes"),
        (list_validation("PlaceOfServiceList", "Place of Service", "Blank: the usual place for the contact.",
                         "Pick a place of service code from the list."), "Place of Service"),
        (list_validation("HCPCSList", "HCPCS", "Leave blank: the close fills it in (see Plan Code).",
                         "Pick a HCPCS code from the list, or leave it blank."), "HCPCS"),
        (list_validation("Modifier1List", "Modifier 1", "Leave blank: the close fills it in.",
                         "Pick a modifier from the list, or leave it blank."), "Modifier 1"),
        (list_validation("Modifier2List", "Modifier 2", "Leave blank: the close fills it in.",
                         "Pick a modifier from the list, or leave it blank."), "Modifier 2"),
        (list_validation("YesNoList", "Approved", "Supervisor: Yes when this row is approved.",
                         "Pick Yes or No."), "Approved"),
    ]
