"""The plan's answer to the claims: an X12 835 posted into the workbooks (SPEC §5).

    from ecm_xl.remittance import post_remittance, read_era
    report = post_remittance(["October.closed.xlsx"], "december.835")
    print(report.text())

era.py reads and validates the 835 with pyx12; codes.py gives each code its
meaning from the shipped code list; posting.py matches claims and lines and
makes the Remittance rows (pure); workbooks.py reads and writes the workbooks.
"""
from .codes import meaning, remark_meaning
from .era import EraError, parse_era, read_era, validate
from .posting import post
from .workbooks import RemitReport, StatusReport, post_remittance, workbook_status

__all__ = ["EraError", "RemitReport", "StatusReport", "meaning", "parse_era", "post", "post_remittance",
           "read_era", "remark_meaning", "validate", "workbook_status"]
