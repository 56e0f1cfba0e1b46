"""Headless workbook reading and writing at the xlsx package level.

    from ecm_xl.xlsx import read_workbook, write_tables, append_table_rows, WorkbookError

`read_workbook` reads every table and the Setup named cells (values through
python-calamine); `write_tables` and `append_table_rows` change only the parts
they own and copy every other zip member byte for byte. A bad file raises
WorkbookError with one line naming the file and what is wrong.
"""
from .package import WorkbookError
from .reader import WorkbookInput, read_workbook
from .writer import append_table_rows, owned_parts, write_named_cells, write_table_cells, write_tables


__all__ = ["WorkbookError", "WorkbookInput", "read_workbook", "write_tables", "append_table_rows",
           "owned_parts", "write_named_cells", "write_table_cells"]
