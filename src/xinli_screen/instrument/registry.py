"""Find and load instrument definitions: bundled ids or paths to YAML files.

Bundled definitions live in ``instruments/`` at the repository root and are shipped inside the
wheel as ``xinli_screen/instruments``. In a source checkout (editable install) the repository
folder is used directly.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from xinli_screen.errors import InstrumentDefinitionError
from xinli_screen.instrument.checks import check_instrument
from xinli_screen.instrument.models import Instrument
from xinli_screen.yaml_source import validate_definition_file

__all__ = [
    "LoadedInstrument",
    "bundled_dir",
    "list_instruments",
    "load_instrument",
    "load_instrument_with_hash",
    "resolve_definition",
    "validate_instrument_file",
]


def bundled_dir() -> Path:
    """Folder holding the bundled instrument YAMLs (and ``policies/``)."""
    packaged = Path(str(resources.files("xinli_screen") / "instruments"))
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "instruments"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("bundled instruments folder not found; reinstall xinli-screen")


def list_instruments() -> list[str]:
    """Ids of the bundled instruments, sorted."""
    return sorted(p.stem for p in bundled_dir().glob("*.yaml"))


def resolve_definition(name_or_path: str | Path, subdir: str = "") -> Path:
    """Turn a bundled id or a file path into a path.

    Raises
    ------
    FileNotFoundError
        Neither a readable file nor a bundled id; the message lists the bundled ids.
    """
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise FileNotFoundError(f"definition file not found: {path}")
        return path
    folder = bundled_dir() / subdir if subdir else bundled_dir()
    candidate = folder / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    known = sorted(p.stem for p in folder.glob("*.yaml"))
    raise FileNotFoundError(f"{name_or_path!r} is neither a file nor a bundled id; "
                            f"bundled: {', '.join(known)}")


def validate_instrument_file(path: str | Path) -> tuple[Instrument | None, list, str]:
    """Load and check one instrument file, collecting every problem.

    Returns
    -------
    (instrument or None, issues, sha256)
        The instrument is None when any error-level issue was found.
    """
    return validate_definition_file(Instrument, check_instrument, path)


class LoadedInstrument:
    """An instrument together with the SHA-256 of its YAML file (for provenance)."""

    __slots__ = ("instrument", "path", "sha256")

    def __init__(self, instrument: Instrument, sha256: str, path: Path) -> None:
        self.instrument = instrument
        self.sha256 = sha256
        self.path = path


@lru_cache(maxsize=64)
def _load_cached(path: Path, mtime_ns: int) -> LoadedInstrument:
    model, issues, digest = validate_instrument_file(path)
    if model is None:
        raise InstrumentDefinitionError(issues)
    return LoadedInstrument(model, digest, path)


def load_instrument_with_hash(name_or_path: str | Path | Instrument) -> LoadedInstrument:
    """Like :func:`load_instrument`, also returning the file's content hash and path."""
    if isinstance(name_or_path, Instrument):
        issues = check_instrument(name_or_path)
        if any(i.level == "error" for i in issues):
            raise InstrumentDefinitionError(issues)
        # a content hash, the same in every process (Python's hash() is salted per process)
        digest = hashlib.sha256(name_or_path.model_dump_json().encode("utf-8")).hexdigest()
        return LoadedInstrument(name_or_path, digest, Path("<model>"))
    path = resolve_definition(name_or_path).resolve()
    return _load_cached(path, path.stat().st_mtime_ns)


def load_instrument(name_or_path: str | Path | Instrument) -> Instrument:
    """Load a bundled instrument by id (``"phq9"``) or from a YAML file path.

    Parameters
    ----------
    name_or_path : str, Path or Instrument
        A bundled id (see :func:`list_instruments`), a path to a YAML file, or an
        already-built :class:`Instrument` (checked and returned).

    Returns
    -------
    Instrument
        Frozen, checked definition.

    Raises
    ------
    FileNotFoundError
        Unknown id or missing file.
    InstrumentDefinitionError
        The YAML is malformed or inconsistent; ``.issues`` lists every problem with file,
        line and field.

    Examples
    --------
    >>> import xinli_screen as xs
    >>> phq9 = xs.load_instrument("phq9")
    >>> phq9.items[8].id, phq9.items[8].number
    ('phq9_09', 9)
    """
    return load_instrument_with_hash(name_or_path).instrument
