"""``xinli-screen example-data``: copy the bundled NHANES PHQ-9 sample to a folder, or write the
generated district scenario (``--district``)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from xinli_screen.cli.console import stderr

SAMPLE_FILES = ("nhanes_dpq_j.csv", "nhanes_columns.yaml", "README.md")


def example_data_command(
    folder: Annotated[Path, typer.Argument(help="Folder to write the sample into.")] = Path(
        "example"),
    district: Annotated[bool, typer.Option(
        "--district", help="Write the generated district scenario instead (synthetic: 4 "
        "schools, about 3,000 pupils, roster, 问卷星 exports of two waves, policy, wave "
        "definitions, truth files).")] = False,
) -> None:
    """Write the bundled sample (NHANES 2017-2018 PHQ-9, public domain) and its column map.

    With --district: a realistic generated district screening (synthetic data) instead.

    Example: xinli-screen example-data example (or: xinli-screen example-data lvyuan --district)
    """
    if district:
        _write_district(folder)
        return
    folder.mkdir(parents=True, exist_ok=True)
    source = resources.files("xinli_screen") / "data"
    for name in SAMPLE_FILES:
        with resources.as_file(source / name) as src:
            shutil.copyfile(src, folder / name)
    stderr.print(f"wrote {', '.join(SAMPLE_FILES)} to {folder}/")
    stderr.print(f"next: xinli-screen score {folder}/nhanes_dpq_j.csv -i phq9 "
                 f"--columns {folder}/nhanes_columns.yaml --id-column SEQN -o results.xlsx")


def _write_district(folder: Path) -> None:
    from xinli_screen.demo import write_district_scenario  # numpy-heavy; only when asked

    scenario = write_district_scenario(folder)
    written = sorted(p.relative_to(scenario.folder).as_posix() for p in scenario.files)
    stderr.print(f"wrote the 绿园区 district scenario ({scenario.n_pupils} pupils, synthetic) "
                 f"to {folder}/: {', '.join(written)}")
    stderr.print(f"next: xinli-screen policy validate {folder}/policy.yaml; the wave "
                 f"definitions are {folder}/wave1.yaml and {folder}/wave2.yaml")
