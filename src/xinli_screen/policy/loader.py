"""Load warning policies: a bundled id (``instruments/policies/{id}.yaml``) or a YAML path."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xinli_screen.errors import PolicyDefinitionError
from xinli_screen.instrument.registry import resolve_definition
from xinli_screen.policy.models import Policy
from xinli_screen.yaml_source import read_yaml, validate_model

__all__ = ["LoadedPolicy", "load_policy"]


@dataclass(frozen=True)
class LoadedPolicy:
    """A policy with its file's SHA-256, path and line map (for binding errors)."""

    policy: Policy
    sha256: str
    path: str
    lines: dict[str, int] = field(default_factory=dict)


def load_policy(name_or_path: str | Path | Policy = "default") -> LoadedPolicy:
    """Load a warning policy by bundled id or from a YAML file.

    Parameters
    ----------
    name_or_path : str, Path or Policy
        ``"default"`` (the bundled policy), another bundled id, a path, or a built model.

    Returns
    -------
    LoadedPolicy

    Raises
    ------
    FileNotFoundError
        Unknown id or missing file.
    PolicyDefinitionError
        Malformed YAML; ``.issues`` lists every problem with file, line and field.
    """
    if isinstance(name_or_path, Policy):
        return LoadedPolicy(name_or_path, "model", "<model>")
    path = resolve_definition(name_or_path, subdir="policies")
    doc = read_yaml(path)
    model, issues = validate_model(Policy, doc)
    issues = [*doc.issues, *issues]
    if model is None or any(i.level == "error" for i in issues):
        raise PolicyDefinitionError(issues)
    return LoadedPolicy(model, doc.sha256, str(path), doc.lines)
