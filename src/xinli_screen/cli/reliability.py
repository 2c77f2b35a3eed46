"""``xinli-screen reliability``: alpha, omega and item analysis per scale (and group)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from xinli_screen.cli.console import fail, stderr
from xinli_screen.cli.exit_codes import ExitCode
from xinli_screen.errors import (
    InstrumentDefinitionError,
    ResponseDataError,
    XinliScreenError,
    XinliScreenWarning,
)
from xinli_screen.instrument.models import Instrument
from xinli_screen.instrument.registry import load_instrument
from xinli_screen.io import read_column_map, read_table
from xinli_screen.responses import prepare_responses

SUMMARY_COLUMNS = ["instrument", "scale", "n_obs", "n_items", "alpha", "ci_low", "ci_high",
                   "std_alpha", "omega_total", "lambda6", "average_r", "warnings"]


def _summary(items: pd.DataFrame, instrument: Instrument, by: str | None, omega_factors: int,
             missing: str) -> pd.DataFrame:
    from xinli_screen.reliability import cronbach_alpha, mcdonald_omega  # loads scipy
    alpha = cronbach_alpha(items, instrument=instrument, by=by, missing=missing).table
    omega = mcdonald_omega(items, instrument=instrument, by=by, n_factors=omega_factors,
                           missing=missing).table
    keys = ["scale"] + ([by] if by else [])
    if "omega_total" not in omega.columns:  # every omega fit failed (e.g. an item without
        omega = omega.assign(omega_total=np.nan)  # variance); its error is reported below
    table = alpha.merge(omega[[*keys, "omega_total", "error"]].rename(
        columns={"error": "omega_error"}), on=keys, how="left")
    for col in ("ci", "warnings", "error", "omega_error"):
        if col not in table.columns:
            table[col] = None
    table["ci_low"] = table["ci"].map(lambda c: c[0] if isinstance(c, (list, tuple)) else None)
    table["ci_high"] = table["ci"].map(lambda c: c[1] if isinstance(c, (list, tuple)) else None)
    table["warnings"] = [
        "; ".join([*(w or []), *(str(e) for e in (err, om) if isinstance(e, str) and e)])
        for w, err, om in zip(table["warnings"], table["error"], table["omega_error"],
                              strict=True)]
    table.insert(0, "instrument", instrument.id)
    cols = ([by] if by else []) + SUMMARY_COLUMNS
    return table[[c for c in cols if c in table.columns]]


def _load_all(names: list[str]) -> list[Instrument]:
    """Load every ``-i`` once; two definitions with one id are refused (columns would clash)."""
    loaded = [load_instrument(n) for n in names]
    seen: dict[str, str] = {}
    for name, inst in zip(names, loaded, strict=True):
        if inst.id in seen:
            fail(f"-i {seen[inst.id]} and -i {name} both define instrument {inst.id!r}; "
                 "give each instrument once (item columns are named by instrument id)",
                 ExitCode.USAGE)
        seen[inst.id] = name
    return loaded


def _item_table(result: object) -> pd.DataFrame:
    return result.table if hasattr(result, "table") else result  # type: ignore[return-value]


def _print(table: pd.DataFrame) -> None:
    view = Table(title="Reliability (Cronbach's alpha with Feldt 95% CI; McDonald's omega total)")
    for col in table.columns:
        view.add_column(str(col))
    for row in table.itertuples(index=False):
        view.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    Console(stderr=True, width=max(stderr.width, 150), highlight=False).print(view)


def reliability_command(
    input_file: Annotated[Path, typer.Argument(help="Answers: .csv, .xlsx or .parquet.")],
    instrument: Annotated[list[str], typer.Option(
        "-i", "--instrument", help="Bundled instrument id or YAML path (repeatable: every "
        "instrument given is analysed).")],
    by: Annotated[str | None, typer.Option("--by", help="Group column, e.g. school.")] = None,
    columns: Annotated[Path | None, typer.Option(
        "--columns", help="YAML map of item id -> file column (and optional missing_codes).")
    ] = None,
    missing_code: Annotated[list[float] | None, typer.Option(
        "--missing-code", help="A code meaning 'no answer' in this file (repeatable).")] = None,
    missing: Annotated[str, typer.Option("--missing", help="pairwise or listwise.")
                       ] = "pairwise",
    omega_factors: Annotated[int, typer.Option(
        "--omega-factors", help="Group factors for omega (1 = unidimensional scale).")] = 1,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write the summary (and item analysis) to .csv, .xlsx or .json.")
    ] = None,
) -> None:
    """Cronbach's alpha (Feldt CI), McDonald's omega and item analysis for each scale.

    Example: xinli-screen reliability answers.csv -i phq9 --by school -o reliability.xlsx
    """
    if missing not in {"pairwise", "listwise"}:
        fail("--missing must be pairwise or listwise", ExitCode.USAGE)
    if output is not None and output.suffix.lower() not in {".csv", ".xlsx", ".json"}:
        fail(f"output {output} must end in .csv, .xlsx or .json", ExitCode.USAGE)
    if output is not None and not output.resolve().parent.is_dir():
        fail(f"folder {output.parent} does not exist; create it first", ExitCode.USAGE)
    if output is not None and output.resolve() == input_file.resolve():
        fail("the output would overwrite the input file; choose another name", ExitCode.USAGE)
    try:
        insts = _load_all(instrument)
        cmap = read_column_map(columns) if columns else None
        data, _ = read_table(input_file)
        if by is not None and by not in data.columns:
            fail(f"group column {by!r} is not in {input_file}", ExitCode.USAGE)
        codes = [*(cmap.missing_codes if cmap else ()), *(missing_code or [])]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prepared = prepare_responses(data, insts, columns=cmap.columns if cmap else None,
                                         missing_codes=codes)
        items = prepared.responses
        if by is not None:
            items = items.assign(**{by: data[by].reset_index(drop=True)})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from xinli_screen.reliability import item_analysis

            # the loaded objects, never their ids: an id would be resolved again as a bundled
            # instrument and a user's own definition silently replaced (issue 14, point 6)
            summary = pd.concat([_summary(items, inst, by, omega_factors, missing)
                                 for inst in insts], ignore_index=True)
            per_item = pd.concat(
                [_item_table(item_analysis(items, instrument=inst, by=by, missing=missing))
                 .assign(instrument=inst.id) for inst in insts], ignore_index=True)
    except FileNotFoundError as exc:
        fail(str(exc), ExitCode.USAGE)
    except InstrumentDefinitionError as exc:
        fail(str(exc), ExitCode.BAD_DEFINITION)
    except ResponseDataError as exc:
        fail(str(exc), ExitCode.DATA_PROBLEMS)
    except XinliScreenError as exc:
        fail(str(exc), ExitCode.DATA_PROBLEMS)
    _print(summary)
    shown = " ".join(summary["warnings"].astype(str))
    for text in dict.fromkeys(str(w.message) for w in caught
                              if issubclass(w.category, XinliScreenWarning)):
        if text.split(": ")[-1] not in shown:
            stderr.print(f"warning: {text}")
    item_table = per_item[["instrument", *(c for c in per_item.columns if c != "instrument")]]
    if output is None:
        return
    suffix = output.suffix.lower()
    if suffix == ".csv":
        summary.to_csv(output, index=False, encoding="utf-8-sig")
        item_table.to_csv(output.with_name(output.stem + "_items.csv"), index=False,
                          encoding="utf-8-sig")
    elif suffix == ".xlsx":
        with pd.ExcelWriter(output, engine="openpyxl") as writer:
            summary.to_excel(writer, sheet_name="reliability", index=False)
            item_table.to_excel(writer, sheet_name="items", index=False)
    else:
        payload = {"reliability": json.loads(summary.to_json(orient="records")),
                   "items": json.loads(item_table.to_json(orient="records"))}
        output.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    stderr.print(f"wrote {output}")
