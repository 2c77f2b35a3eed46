"""``xinli-screen example-data``: copy the bundled NHANES PHQ-9 sample to a folder."""

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
) -> None:
    """Write the bundled sample (NHANES 2017-2018 PHQ-9, public domain) and its column map.

    Example: xinli-screen example-data example
    """
    folder.mkdir(parents=True, exist_ok=True)
    source = resources.files("xinli_screen") / "data"
    for name in SAMPLE_FILES:
        with resources.as_file(source / name) as src:
            shutil.copyfile(src, folder / name)
    stderr.print(f"wrote {', '.join(SAMPLE_FILES)} to {folder}/")
    stderr.print(f"next: xinli-screen score {folder}/nhanes_dpq_j.csv -i phq9 "
                 f"--columns {folder}/nhanes_columns.yaml --id-column SEQN -o results.xlsx")
