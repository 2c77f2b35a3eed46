"""Helpers shared by the ways ``xinli-screen score`` runs (whole table, batches, streamed):
exit codes, the summary on stderr, run statistics, SIGTERM while writing partial files."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xinli_screen.cli.console import fail, stderr
from xinli_screen.cli.exit_codes import ExitCode
from xinli_screen.errors import (
    InstrumentDefinitionError,
    PolicyDefinitionError,
    ResponseDataError,
)
from xinli_screen.norms import NormDefinitionError, NormMismatchError

if TYPE_CHECKING:
    from xinli_screen.runstats import RunStatistics

__all__ = ["Terminated", "exit_codes", "in_file", "print_summary", "raise_on_sigterm",
           "restore_sigterm", "write_stats"]


def write_stats(run_stats: RunStatistics, path: Path) -> Path:
    """Write the run statistics as JSON to ``path``; returns ``path``."""
    import json

    path.write_text(json.dumps(run_stats.to_json(), ensure_ascii=False, indent=1),
                    encoding="utf-8")
    return path


@contextlib.contextmanager
def exit_codes(input_file: Path) -> Iterator[None]:
    """Turn the screening errors into the documented exit codes (docs/errors.md)."""
    try:
        yield
    except FileNotFoundError as exc:
        fail(str(exc), ExitCode.USAGE)
    except (InstrumentDefinitionError, PolicyDefinitionError, NormDefinitionError,
            NormMismatchError) as exc:  # NormMismatchError: the table's definition
        fail(str(exc), ExitCode.BAD_DEFINITION)
    except ResponseDataError as exc:
        fail(in_file(input_file, exc), ExitCode.DATA_PROBLEMS)
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE)


def in_file(input_file: Path, exc: BaseException) -> str:
    """The message prefixed with the input file, unless it already names it."""
    text = str(exc)
    return text if text.startswith((str(input_file), input_file.name)) else (
        f"{input_file}: {text}")


class Terminated(SystemExit):
    """SIGTERM during a streamed run: raised so that the partial outputs are removed."""


def raise_on_sigterm() -> Any:
    """Turn SIGTERM into :class:`Terminated` (exit 143) while streaming, as Ctrl-C is turned
    into KeyboardInterrupt, so that the ``.partial`` files (which hold ids) are deleted.
    Returns the previous handler (None when not in the main thread)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(128 + signum)

    return signal.signal(signal.SIGTERM, handler)


def restore_sigterm(previous: Any) -> None:
    """Put back the SIGTERM handler :func:`raise_on_sigterm` replaced."""
    import signal

    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def print_summary(s: dict, outputs: list[Path]) -> None:
    """The run's summary (rows per status and tier, data problems) and the files written,
    on stderr."""
    st, tiers = s["status"], s["warning_tier"]
    stderr.print(f"rows read {s['rows']}: scored {st['scored']}, incomplete {st['incomplete']}, "
                 f"invalid {st['invalid']}, retest {st['invalid_protocol']}, no answers "
                 f"{st['no_answers']}, duplicate id {st['duplicate_id']}, missing id "
                 f"{st['missing_id']}")
    stderr.print("warning tier: " + ", ".join(f"{k} {v}" for k, v in tiers.items())
                 + " (a missing answer could still raise the tier for "
                 f"{s['tier_not_settled']} rows)")
    if s["failures"]:
        stderr.print("data problems: " + ", ".join(f"{k} {v}" for k, v in s["failures"].items())
                     + " (see the failures table and docs/errors.md)")
    if s.get("critical_unknown"):
        notes = ", ".join(f"{k} {v}" for k, v in s.get("notes", {}).items())
        stderr.print(f"critical item unknown (unanswered, skipped, not shown or not a valid "
                     f"answer) in {s['critical_unknown']} rows"
                     + (f": {notes}" if notes else "")
                     + " (critical_unknown column; see docs/policy.md#critical-item-states)")
    for path in outputs:
        stderr.print(f"wrote {path}")
    stderr.print("Screening results are not a diagnosis; every warning is pending review (待复核).")
