"""Find and load norm tables: bundled ids (``instruments/norms/{id}.yaml``) or YAML paths.

Every problem in a file is reported at once, each with file, line and field, through
:mod:`xinli_screen.yaml_source` (pydantic errors) and :mod:`xinli_screen.norms.checks`
(semantic rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from xinli_screen.errors import DefinitionIssue
from xinli_screen.instrument.registry import bundled_dir, resolve_definition
from xinli_screen.norms.checks import check_norm_table
from xinli_screen.norms.errors import NormDefinitionError
from xinli_screen.norms.models import NormTable
from xinli_screen.yaml_source import validate_definition_file

__all__ = [
    "LoadedNormTable",
    "list_norms",
    "load_norms",
    "load_norms_with_hash",
    "norms_dir",
    "validate_norm_file",
]

SUBDIR = "norms"


def norms_dir() -> Path:
    """Folder of the bundled norm tables (``instruments/norms``)."""
    return bundled_dir() / SUBDIR


def list_norms(instrument: str | None = None) -> list[str]:
    """Ids of the bundled norm tables, sorted; only those of ``instrument`` when given."""
    folder = norms_dir()
    if not folder.is_dir():
        return []
    ids = []
    for path in sorted(folder.glob("*.yaml")):
        if instrument is not None:
            try:
                head = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
            except (OSError, yaml.YAMLError):
                continue
            if not isinstance(head, dict) or head.get("instrument") != instrument:
                continue
        ids.append(path.stem)
    return ids


def validate_norm_file(path: str | Path) -> tuple[NormTable | None, list[DefinitionIssue], str]:
    """Load and check one norm-table file, collecting every problem.

    Returns
    -------
    (table or None, issues, sha256)
        The table is None when any error-level issue was found.
    """
    return validate_definition_file(NormTable, check_norm_table, path)


@dataclass(frozen=True)
class LoadedNormTable:
    """A norm table with the SHA-256 of its YAML file and its path (for provenance)."""

    table: NormTable
    sha256: str
    path: Path

    def provenance(self) -> dict[str, str]:
        """``{"id", "version", "instrument", "sha256", "source"}`` for a provenance record."""
        return {"id": self.table.id, "version": self.table.version,
                "instrument": self.table.instrument, "sha256": self.sha256,
                "source": self.path.name}


@lru_cache(maxsize=64)
def _load_cached(path: Path, mtime_ns: int) -> LoadedNormTable:
    table, issues, digest = validate_norm_file(path)
    if table is None:
        raise NormDefinitionError(issues)
    return LoadedNormTable(table, digest, path)


def load_norms_with_hash(name_or_path: str | Path | NormTable) -> LoadedNormTable:
    """Like :func:`load_norms`, also returning the file's content hash and path."""
    if isinstance(name_or_path, NormTable):
        issues = check_norm_table(name_or_path)
        if any(i.level == "error" for i in issues):
            raise NormDefinitionError(issues)
        return LoadedNormTable(name_or_path, "model", Path("<model>"))
    path = resolve_definition(name_or_path, SUBDIR).resolve()
    return _load_cached(path, path.stat().st_mtime_ns)


def load_norms(name_or_path: str | Path | NormTable) -> NormTable:
    """Load a bundled norm table by id or from a YAML file path.

    Parameters
    ----------
    name_or_path : str, Path or NormTable
        A bundled id (see :func:`list_norms`), a path to a YAML file, or an already-built
        :class:`NormTable` (checked and returned).

    Returns
    -------
    NormTable
        Frozen, checked table.

    Raises
    ------
    FileNotFoundError
        Unknown id or missing file; the message lists the bundled ids.
    NormDefinitionError
        The YAML is malformed or inconsistent; ``.issues`` lists every problem with file,
        line and field.

    Examples
    --------
    >>> from xinli_screen.norms import load_norms
    >>> t = load_norms("cesd_zhang2010_urban")
    >>> t.scales["total"].cells[0].mean, t.sample_size
    (13.24, 16047)
    """
    return load_norms_with_hash(name_or_path).table
