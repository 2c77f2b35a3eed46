"""Options and helpers shared by the archive, review and report commands."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from xinli_screen.cli.console import fail
from xinli_screen.cli.exit_codes import ExitCode
from xinli_screen.errors import PolicyDefinitionError, XinliScreenError
from xinli_screen.privacy import KeyFileTooLargeError

__all__ = ["ArchiveOpt", "ByOpt", "KeyFileOpt", "PolicyOpt", "guarded", "open_store"]

T = TypeVar("T")

#: Environment variable with the default archive (path or URL).
ARCHIVE_ENV = "XINLI_ARCHIVE"

ArchiveOpt = Annotated[str, typer.Option(
    "--archive", envvar=ARCHIVE_ENV,
    help="Archive: a SQLite file path (created when absent) or a database URL such as "
    "postgresql+psycopg://user:pw@host/db (env XINLI_ARCHIVE).")]
KeyFileOpt = Annotated[Path | None, typer.Option(
    "--key-file", help="File with the pseudonymisation key (default: env XINLI_HMAC_KEY).")]
PolicyOpt = Annotated[str, typer.Option(
    "--policy", help="Policy whose history rules and tier labels apply (id or YAML path).")]
ByOpt = Annotated[str, typer.Option("--by", help="Who does this (kept in the audit trail).")]


#: Another command holds the archive (SQLite "database is locked", a PostgreSQL lock or
#: serialisation failure): nothing was changed, the command can simply be run again.
BUSY_MESSAGE = ("the archive is in use by another command (another import?) and stayed locked; "
                "nothing was changed: run this command again when the other one has finished "
                "(see docs/errors.md#archive-busy)")
_BUSY_TEXT = ("database is locked", "database table is locked", "could not obtain lock",
              "deadlock detected", "could not serialize access", "lock timeout")


def is_busy(exc: BaseException) -> bool:
    """True for a database error saying another connection holds a lock (retryable)."""
    if not type(exc).__module__.startswith(("sqlalchemy", "sqlite3", "psycopg")):
        return False
    text = str(getattr(exc, "orig", None) or exc).lower()
    return any(t in text for t in _BUSY_TEXT)


def optional_key(key_file: Path | None, required: bool = False) -> bytes | None:
    """The pseudonymisation key from ``--key-file`` or XINLI_HMAC_KEY; None when neither."""
    from xinli_screen.privacy import KEY_ENV, load_key

    if key_file is None and not os.environ.get(KEY_ENV) and not required:
        return None
    return guarded(lambda: load_key(key_file))


def open_store(archive: str, key_file: Path | None = None, policy: str = "default") -> Any:
    """Open the archive, exiting 2 on a bad key or policy id, 3 on a bad policy file."""
    from xinli_screen.archive import ArchiveStore

    key = optional_key(key_file)
    try:
        return ArchiveStore(archive, key=key, policy=policy)
    except FileNotFoundError as exc:
        fail(str(exc), ExitCode.USAGE)
    except PolicyDefinitionError as exc:
        fail(str(exc), ExitCode.BAD_DEFINITION)
    except Exception as exc:  # a database that cannot be reached or opened
        if is_busy(exc):
            fail(BUSY_MESSAGE, ExitCode.USAGE)
        if type(exc).__module__.startswith("sqlalchemy"):
            fail(f"cannot open the archive: {type(exc).__name__} (check --archive)",
                 ExitCode.USAGE)
        raise


def guarded(call: Callable[[], T]) -> T:
    """Run ``call``; an archive, privacy or lookup error exits 2 with its (id-free) message."""
    try:
        return call()
    except FileNotFoundError as exc:
        fail(str(exc), ExitCode.USAGE)
    except KeyFileTooLargeError as exc:  # not a key at all: like a bad definition file
        fail(str(exc), ExitCode.BAD_DEFINITION)
    except (XinliScreenError, KeyError) as exc:
        fail(str(exc).strip("'\""), ExitCode.USAGE)
    except Exception as exc:
        if is_busy(exc):
            fail(BUSY_MESSAGE, ExitCode.USAGE)
        raise
