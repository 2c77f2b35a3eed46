"""Exit codes of the ``xinli-screen`` command (documented in docs/cli.md)."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """Process exit codes.

    - ``OK`` (0): finished, no data problem found.
    - ``DATA_PROBLEMS`` (1): finished with bad cells or ids (see the failures), or the input
      file could not be read at all.
    - ``USAGE`` (2): wrong options, unknown instrument/policy id, missing file; an output file
      that cannot be written (a full disk, a read-only folder: docs/errors.md#output-files).
    - ``BAD_DEFINITION`` (3): an instrument, policy or column-map YAML is invalid.
    - ``INTERRUPTED`` (130): stopped with Ctrl-C.
    """

    OK = 0
    DATA_PROBLEMS = 1
    USAGE = 2
    BAD_DEFINITION = 3
    INTERRUPTED = 130
