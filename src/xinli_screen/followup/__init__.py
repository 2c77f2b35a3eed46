"""Closing the loop after a screening wave: return sheets (复核回执) for bulk 复核 and
actions, deadlines per warning tier, the follow-up list (待办) and loop-closure figures.

Typical use::

    from xinli_screen.archive import ArchiveStore
    from xinli_screen.followup import follow_up, import_return_sheets, write_follow_up

    with ArchiveStore("district.db") as store:
        import_return_sheets(store, ["复核回执_第一中学.xlsx"], by="王老师")
        fu = follow_up(store, "2026-autumn")
        write_follow_up(fu, "待办_2026-autumn.xlsx")
"""

from __future__ import annotations

from xinli_screen.followup.render import write_follow_up
from xinli_screen.followup.return_sheet import (
    RETURN_COLUMNS,
    ReturnSheetError,
    read_return_sheet,
    write_return_sheets,
)
from xinli_screen.followup.review_import import (
    ReviewImport,
    ReviewImportError,
    RowError,
    import_return_sheets,
)
from xinli_screen.followup.status import due_date, follow_up_states, loop_figures
from xinli_screen.followup.todo import FollowUp, follow_up, listed_mask

__all__ = ["RETURN_COLUMNS", "FollowUp", "ReturnSheetError", "ReviewImport",
           "ReviewImportError", "RowError", "due_date", "follow_up", "follow_up_states",
           "import_return_sheets", "listed_mask", "loop_figures", "read_return_sheet",
           "write_follow_up", "write_return_sheets"]
