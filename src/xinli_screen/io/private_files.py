"""Output files that hold pupil data: created readable by their owner only (0600), complete or
absent, and a failed write reported by file name.

Issue 15 asks that every file holding pupil ids (results, failures, warning and follow-up
lists, pupil reports, exports, the audit trail) is created 0600 from the start, not made private
after it was written, and that a full disk or a read-only folder gives a one-line error naming the
output file. The helpers here are the shared way to do both; they import nothing heavy.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xinli_screen.errors import OutputWriteError

__all__ = ["create_private", "output_errors", "replaced_on_success", "write_private_text"]


@contextlib.contextmanager
def output_errors(path: str | Path) -> Iterator[None]:
    """Turn an operating-system error while writing ``path`` into :class:`OutputWriteError`.

    A full disk (``ENOSPC``), a quota, a read-only or vanished folder raise :class:`OSError`
    (XlsxWriter wraps it in ``FileCreateError``) naming no file or a temporary one; inside this
    block they become :class:`~xinli_screen.errors.OutputWriteError` naming ``path`` and the
    system's reason (never cell contents).

    Parameters
    ----------
    path : str or Path
        The output file as the user named it.

    Raises
    ------
    OutputWriteError
        In place of an :class:`OSError` (or XlsxWriter ``FileCreateError``) from the block.
    """
    try:
        yield
    except OutputWriteError:
        raise
    except OSError as exc:
        raise OutputWriteError(path, exc) from None
    except Exception as exc:
        cause = exc.args[0] if exc.args else None
        if type(exc).__name__ == "FileCreateError" and isinstance(cause, OSError):
            raise OutputWriteError(path, cause) from None
        raise


def create_private(path: str | Path) -> None:
    """Create ``path`` empty (or truncate it), readable and writable by the owner only.

    The file is opened with mode 0600 (``os.open``), so it is never readable by others, not
    even for a moment; an existing file is truncated and its mode set to 0600 (the mode of
    ``os.open`` applies only to a new file).

    Parameters
    ----------
    path : str or Path

    Raises
    ------
    OSError
        The file cannot be created.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if os.name == "posix":
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the block runs, SIGTERM raises ``SystemExit(143)`` as Ctrl-C raises
    KeyboardInterrupt, so that the temporary file of :func:`replaced_on_success` (which
    holds ids) is removed. Only where SIGTERM has its default action (it would end the
    process without cleaning up) and in the main thread; the default is restored after."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def replaced_on_success(path: str | Path) -> Iterator[Path]:
    """A temporary path next to ``path``, renamed to ``path`` when the block succeeds.

    The temporary file is created 0600 (``tempfile.mkstemp``), so ``path`` ends up readable by
    its owner only; on an error, Ctrl-C or SIGTERM it is removed and ``path`` is left as it was.
    An :class:`OSError` (a full disk ...) becomes :class:`OutputWriteError` naming ``path``.

    Parameters
    ----------
    path : str or Path
        The final file.

    Yields
    ------
    Path
        The temporary file to write (it exists, empty).

    Raises
    ------
    OutputWriteError
        The file could not be written.
    """
    path = Path(path)
    with _sigterm_raises(), output_errors(path):
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp",
                                    dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        try:
            yield tmp
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)


def write_private_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path``, created 0600, complete or not at all.

    Parameters
    ----------
    path : str or Path
    text : str

    Returns
    -------
    Path

    Raises
    ------
    OutputWriteError
        The file could not be written (the message names ``path`` and the system's reason).
    """
    path = Path(path)
    with replaced_on_success(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
