"""Load a wave YAML: validate it, resolve its paths, load its instruments, policy and maps.

Every problem is collected before anything is raised, each with file, line and field, as for
instruments and policies (:class:`WaveDefinitionError`, exit code 3 in the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xinli_screen.errors import DefinitionError, DefinitionIssue, XinliScreenError
from xinli_screen.instrument.models import Instrument
from xinli_screen.io.column_map import ColumnMap
from xinli_screen.policy.loader import LoadedPolicy, load_policy
from xinli_screen.wave.models import Form, Part, WaveDefinition
from xinli_screen.yaml_source import YamlDocument, read_yaml, validate_model

__all__ = ["LoadedWave", "WaveDefinitionError", "load_wave", "with_policy"]


class WaveDefinitionError(DefinitionError):
    """A wave YAML is malformed or names a form, instrument, policy or file that is not there.

    ``.issues`` holds every problem, each naming file, line and field.
    """

    kind = "wave"
    doc = "docs/guide.md#wave-definition"


@dataclass(frozen=True)
class LoadedWave:
    """A checked wave definition with everything it names loaded.

    Attributes
    ----------
    definition : WaveDefinition
    path : Path
        The YAML file; relative paths in it are resolved against its folder.
    sha256 : str
        SHA-256 of the YAML file.
    policy : LoadedPolicy
        The policy frozen with the wave at import.
    policy_text : str
        The policy's YAML text as stored with the wave (empty for a built model).
    instruments : dict form id -> list of Instrument
    column_maps : dict form id -> ColumnMap
    lines : dict dotted field -> line
    """

    definition: WaveDefinition
    path: Path
    sha256: str
    policy: LoadedPolicy
    policy_text: str
    instruments: dict[str, list[Instrument]]
    column_maps: dict[str, ColumnMap]
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The folder relative paths are resolved against."""
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """A path of the definition, resolved against the YAML file's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else (self.folder / p)

    def form(self, part: Part) -> Form:
        """The form a part is answered in."""
        return self.definition.forms[part.form]


def _issue(doc: YamlDocument, code: str, message: str, path: list[str | int]) -> DefinitionIssue:
    return DefinitionIssue(code, message, source=doc.source, line=doc.line_of(path),
                           field=".".join(str(p) for p in path))


def _load_policy(definition: WaveDefinition, doc: YamlDocument, folder: Path,
                 issues: list[DefinitionIssue]) -> tuple[LoadedPolicy | None, str]:
    ref = definition.policy
    candidate = folder / ref
    target: str | Path = candidate if candidate.suffix in (".yaml", ".yml") else ref
    try:
        loaded = load_policy(target)
    except FileNotFoundError as exc:
        issues.append(_issue(doc, "policy-not-found", str(exc), ["policy"]))
        return None, ""
    except DefinitionError as exc:
        for sub in exc.issues:
            issues.append(sub)
        issues.append(_issue(doc, "bad-policy", f"the policy {ref!r} has errors (above)",
                             ["policy"]))
        return None, ""
    text = Path(loaded.path).read_text(encoding="utf-8") if Path(loaded.path).is_file() else ""
    return loaded, text


def load_wave(path: str | Path) -> LoadedWave:
    """Read and check a wave YAML.

    Checks: the schema (:class:`~xinli_screen.wave.models.WaveDefinition`); every part names
    a declared form; part names are unique; every form's instruments load; the policy loads
    and binds to every form's instruments; every column map is valid. Files of parts and
    the roster are *not* opened here (see :func:`xinli_screen.wave.check_wave`).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    LoadedWave

    Raises
    ------
    FileNotFoundError
        The YAML file does not exist.
    WaveDefinitionError
        Anything else; ``.issues`` lists every problem with file, line and field.
    """
    from xinli_screen.instrument.registry import load_instrument
    from xinli_screen.io.column_map import column_map_from_mapping, read_column_map

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"wave definition not found: {path}")
    doc = read_yaml(path)
    model, issues = validate_model(WaveDefinition, doc)
    issues = [*doc.issues, *issues]
    if model is None:
        raise WaveDefinitionError(issues)
    folder = path.parent
    names: dict[str, int] = {}
    for k, part in enumerate(model.parts):
        if part.form not in model.forms:
            issues.append(_issue(doc, "unknown-form", f"part {part.part_name!r} names form "
                                 f"{part.form!r}; the forms are {', '.join(model.forms)}",
                                 ["parts", k, "form"]))
        if part.part_name in names:
            issues.append(_issue(doc, "duplicate-part", f"two parts are named "
                                 f"{part.part_name!r}; give each a distinct name",
                                 ["parts", k, "name"]))
        names[part.part_name] = k
    instruments: dict[str, list[Instrument]] = {}
    maps: dict[str, ColumnMap] = {}
    for form_id, form in model.forms.items():
        loaded: list[Instrument] = []
        for j, ref in enumerate(form.instruments):
            target = folder / ref if ref.endswith((".yaml", ".yml")) else ref
            try:
                loaded.append(load_instrument(target))
            except (FileNotFoundError, DefinitionError) as exc:
                issues.append(_issue(doc, "bad-instrument", f"instrument {ref!r}: "
                                     f"{str(exc).splitlines()[0]}",
                                     ["forms", form_id, "instruments", j]))
        instruments[form_id] = loaded
        try:
            if isinstance(form.columns, str):
                maps[form_id] = read_column_map(folder / form.columns)
            elif isinstance(form.columns, dict):
                prefix: list[str | int] = ["forms", form_id, "columns"]
                maps[form_id] = column_map_from_mapping(
                    form.columns, f"{doc.source} [forms.{form_id}.columns]",
                    line_of=lambda p, prefix=prefix: doc.line_of([*prefix, *p]))
            else:
                maps[form_id] = ColumnMap({})
        except (XinliScreenError, FileNotFoundError) as exc:
            issues.append(_issue(doc, "bad-column-map", str(exc),
                                 ["forms", form_id, "columns"]))
    policy, policy_text = _load_policy(model, doc, folder, issues)
    if policy is not None:
        from xinli_screen.policy.engine import bind_policy

        for form_id, insts in instruments.items():
            if not insts:
                continue
            _, _, bound = bind_policy(policy.policy, insts, policy.lines, policy.path)
            for sub in bound:
                if sub.level == "error":
                    issues.append(sub)
                    issues.append(_issue(doc, "policy-does-not-bind", f"form {form_id!r}: "
                                         "the policy does not fit its instruments (above)",
                                         ["policy"]))
    if any(i.level == "error" for i in issues) or policy is None:
        raise WaveDefinitionError(issues)
    return LoadedWave(model, path.resolve(), doc.sha256, policy, policy_text, instruments,
                      maps, doc.lines)


def with_policy(loaded: LoadedWave, policy: str | Path) -> LoadedWave:
    """The same wave under another policy (for a what-if run; never stored as the wave).

    Raises
    ------
    FileNotFoundError
        Unknown policy id or file.
    PolicyDefinitionError
        The policy is malformed.
    WaveDefinitionError
        The policy does not fit the forms' instruments.
    """
    import dataclasses

    from xinli_screen.policy.engine import bind_policy

    other = load_policy(policy)
    issues = [i for insts in loaded.instruments.values()
              for i in bind_policy(other.policy, insts, other.lines, other.path)[2]
              if i.level == "error"]
    if issues:
        raise WaveDefinitionError(issues)
    path = Path(other.path)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    return dataclasses.replace(loaded, policy=other, policy_text=text)
