"""The dependency set: no scikit-learn cap, readers as extras with a message naming the extra.

Up to 0.1 the project pinned ``scikit-learn<1.8`` because factor_analyzer 0.5.1 passes
``force_all_finite`` to ``sklearn.utils.check_array`` (removed in scikit-learn 1.8). Extraction
and rotation are now our own (``xinli_screen.factor``), so neither package is required and pip
never reports a conflict with whatever scikit-learn a user has (issue 14, point 8).
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xinli_screen as xs
from xinli_screen._optional import EXTRAS, MissingDependencyError, import_optional
from xinli_screen.errors import ResponseDataError
from xinli_screen.io import read_table

ROOT = Path(__file__).resolve().parents[1]


def _core_requirements() -> list[str]:
    return [r for r in requires("xinli-screen") or [] if "extra ==" not in r]


def test_no_scikit_learn_or_factor_analyzer_in_the_core() -> None:
    names = " ".join(_core_requirements()).lower()
    assert "scikit-learn" not in names and "factor_analyzer" not in names
    assert not any("<" in r.split(";")[0] and "scikit" in r for r in requires("xinli-screen"))


def test_readers_are_extras_and_the_district_extra_has_them() -> None:
    core = " ".join(_core_requirements()).lower()
    assert "pyreadstat" not in core and "xlrd" not in core
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for extra in ("spss", "xls", "district"):
        assert f"\n{extra} = [" in text
    assert 'district = ["xinli-screen[spss,xls]"]' in text
    assert '"xinli-screen[spss,xls]",' in text.split("\ntest = [")[1].split("\n]")[0]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install '.[district]'" in readme


def test_factor_analysis_and_omega_import_neither_package() -> None:
    """Omega and EFA run in a process where scikit-learn and factor_analyzer cannot load."""
    code = (
        "import sys\n"
        "sys.modules['sklearn'] = None\nsys.modules['factor_analyzer'] = None\n"
        "import numpy as np, pandas as pd, xinli_screen as xs\n"
        "rng = np.random.default_rng(0)\n"
        "f = rng.normal(size=(300, 2))\n"
        "x = np.repeat(f, 3, axis=1) * 0.7 + rng.normal(scale=0.6, size=(300, 6))\n"
        "df = pd.DataFrame(x, columns=[f'i{j}' for j in range(6)])\n"
        "print(round(xs.mcdonald_omega(df, n_factors=2).omega_total, 3))\n"
        "print(xs.factor.efa(df, 2, method='ml', rotation='promax').n_factors)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert 0 < float(done.stdout.split()[0]) < 1


@pytest.mark.parametrize(("module", "suffix", "extra"), [("pyreadstat", ".sav", "spss"),
                                                         ("xlrd", ".xls", "xls")])
def test_missing_reader_names_the_extra(monkeypatch, tmp_path, module, suffix, extra) -> None:
    path = tmp_path / f"answers{suffix}"
    path.write_bytes(b"not really")
    monkeypatch.setitem(sys.modules, module, None)  # import fails as when not installed
    with pytest.raises(ResponseDataError, match=rf"pip install 'xinli-screen\[{extra}\]'") as err:
        read_table(path)
    assert f"optional package '{module}'" in str(err.value)


def test_missing_reader_on_the_command_line(monkeypatch, tmp_path, cli) -> None:
    path = tmp_path / "answers.sav"
    path.write_bytes(b"not really")
    monkeypatch.setitem(sys.modules, "pyreadstat", None)
    run = cli("score", path, "-i", "phq9")
    assert run.code != 0
    assert "xinli-screen[spss]" in " ".join(run.err.split())


def test_import_optional(monkeypatch) -> None:
    assert import_optional("xlrd", "test").__name__ == "xlrd"
    assert set(EXTRAS) >= {"pyreadstat", "xlrd"}
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(MissingDependencyError, match=r"xinli-screen\[dask\]"):
        import_optional("dask", "score --scheduler")


def test_ml_efa_on_a_small_sample_agrees_with_minres_in_structure() -> None:
    rng = np.random.default_rng(1)
    f = rng.normal(size=(500, 1))
    data = pd.DataFrame(f @ np.full((1, 6), 0.7) + rng.normal(scale=0.7, size=(500, 6)))
    ml = xs.factor.efa(data, 1, method="ml").loading_matrix().to_numpy()[:, 0]
    assert ml.min() > 0.5


# ------------------------------------------------------------------ module graph (issue 17)

SRC = ROOT / "src" / "xinli_screen"
#: The per-respondent stages and the definitions they use.
STAGES = ("xinli_screen.responses", "xinli_screen.scoring", "xinli_screen.validity",
          "xinli_screen.runstats", "xinli_screen.code_offsets", "xinli_screen.policy",
          "xinli_screen.norms", "xinli_screen.instrument")
ADAPTERS = ("xinli_screen.backends.memory", "xinli_screen.backends.streamed",
            "xinli_screen.backends.dask", "xinli_screen.backends.spark",
            "xinli_screen.streaming", "xinli_screen.distributed")


def _import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere (also inside functions), from the
    source (ast), without importing it. Imports of the top-level facade (``__version__``)
    are left out: every module may read it."""
    import ast

    mods = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path

    def owner(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                         for a in node.names]
            for name in names:
                target = owner(name) if name.startswith("xinli_screen") else None
                if target not in (None, mod, "xinli_screen"):
                    graph[mod].add(target)
    graph.pop("xinli_screen", None)
    return graph


def _circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan 1972)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(frozenset(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def test_the_circle_finder_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        frozenset({"a", "b", "c"})]


def test_no_module_circle() -> None:
    """No module of the package sits in an import circle, counting imports inside functions
    and under ``TYPE_CHECKING`` (issue 17: pipeline -> distributed -> streaming -> pipeline
    was one; plotting/result, io.excel/io.readers and the group report's modules were the
    last three: the plots now read a structural type, and the header helpers and GroupReport
    moved below the modules that shared them)."""
    circles = _circles(_import_graph())
    assert not circles, [sorted(c) for c in circles]


def test_engine_layering() -> None:
    """screen() imports no adapter (only the 问卷星 reading of io, lazily); the kernel imports
    no adapter, io, cli or pipeline; the stages none of pipeline, kernel, adapters, io, cli."""
    graph = _import_graph()

    def reaches(mod: str, prefixes: tuple[str, ...]) -> set[str]:
        return {t for t in graph[mod] if t.startswith(prefixes)}

    assert not reaches("xinli_screen.pipeline", (*ADAPTERS, "xinli_screen.cli"))
    for mod in ("xinli_screen.backends.kernel", "xinli_screen.backends._rows",
                "xinli_screen.backends"):
        assert not reaches(mod, (*ADAPTERS, "xinli_screen.io", "xinli_screen.cli",
                                 "xinli_screen.pipeline")), mod
    for mod in graph:
        if mod.startswith(STAGES):
            assert not reaches(mod, ("xinli_screen.pipeline", "xinli_screen.backends",
                                     "xinli_screen.io", "xinli_screen.cli",
                                     "xinli_screen.streaming", "xinli_screen.distributed")
                               ), mod
