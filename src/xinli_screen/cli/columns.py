"""``xinli-screen columns guess``: a column map from an export's header, saved for reuse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from xinli_screen.cli.console import fail, stderr
from xinli_screen.cli.exit_codes import ExitCode
from xinli_screen.cli.score import load_instruments
from xinli_screen.errors import ResponseDataError
from xinli_screen.instrument.models import Instrument
from xinli_screen.io.column_map import ColumnMap, format_column_map
from xinli_screen.io.fhir import fhir_item_columns
from xinli_screen.io.readers import read_table
from xinli_screen.io.wjx import (
    UNDECIDED,
    ColumnGuess,
    detect_answer_values,
    drop_ip_columns,
    guess_columns,
)
from xinli_screen.io.wjx_guess import BlockGuesses, guess_blocks


def _propose_blocks(sample: pd.DataFrame, insts: list[Instrument], guess: ColumnGuess
                    ) -> BlockGuesses:
    """Blocks for the instruments none of whose items was found by name or wording
    (instruments shipped without wording); their items leave ``guess.unmatched``."""
    need = [inst for inst in insts if not any(i.id in guess.columns for i in inst.items)]
    if not need:
        return BlockGuesses()
    taken = {*guess.columns.values(), *(c for c in (guess.id_column, guess.time_column) if c)}
    found = guess_blocks(sample, need, taken=taken)
    placed = {i.id for inst in insts if inst.id in found.blocks for i in inst.items}
    guess.unmatched = [i for i in guess.unmatched if i not in placed]
    if guess.wjx and found.blocks:  # the answer coding, judged on every item column
        by_id = {inst.id: inst for inst in insts}
        scales = {col: inst.response_scale_of(item) for inst in insts for item in inst.items
                  if (col := guess.columns.get(item.id)) is not None}
        for block in found.blocks.values():
            inst = by_id[block.instrument]
            scales |= {col: inst.response_scale_of(item)
                       for item, col in zip(inst.items, block.columns, strict=True)}
        guess.answer_values = detect_answer_values(sample, scales)
    return found


app = typer.Typer(help="Column maps: which file column holds which item.",
                  no_args_is_help=True)


@app.command("guess")
def guess_command(
    input_file: Annotated[Path, typer.Argument(help="An export (问卷星 .xls/.xlsx/.csv, ...).")],
    instrument: Annotated[list[str], typer.Option(
        "-i", "--instrument", help="Bundled instrument id or YAML path; repeat for several.")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write the map here (YAML); default: stdout.")] = None,
) -> None:
    """Guess the column map of an export from its header and save it for reuse.

    Items are matched by column name (the item id), by the question wording, or by the order
    of a matrix question's sub-columns. Instruments without wording (MHT, DSRSC, SCARED,
    PHQ-A) are found as runs of consecutive questions whose answers are all the
    instrument's option labels (or codes), as long as its item count; they are written as
    blocks (mht: {first_question: 7}) to confirm. The id column (学号, or the link parameter
    自定义字段) and, for 问卷星 downloads, whether answers are option text, positions (按序号)
    or codes are guessed from the first rows. Check the map, then:
    xinli-screen score FILE -i ID --columns MAP.yaml

    Exit codes: 0 every item found, 1 some items have no column (listed in the map) or the
    answer coding of a 问卷星 download could not be decided (按序号 or 按分数: say which),
    2 usage.
    """
    insts = load_instruments(instrument)
    if output is not None and not output.resolve().parent.is_dir():
        fail(f"folder {output.parent} does not exist; create it first", ExitCode.USAGE)
    try:
        frame, info = read_table(input_file)
    except ResponseDataError as exc:
        fail(str(exc), ExitCode.DATA_PROBLEMS)
    frame, dropped = drop_ip_columns(frame)
    guess = guess_columns(frame.head(200), insts)
    if info.get("format") == "fhir":
        found = fhir_item_columns(list(frame.columns), info, insts)
        for item, col in found.items():
            guess.columns.setdefault(item, col)
            guess.how.setdefault(item, "FHIR linkId / LOINC")
        guess.unmatched = [i for i in guess.unmatched if i not in guess.columns]
        guess.id_column = guess.id_column or "subject"
    found = _propose_blocks(frame.head(200), insts, guess)
    order = [i.id for inst in insts for i in inst.items]
    columns = {i: guess.columns[i] for i in order if i in guess.columns}
    undecided = guess.wjx and guess.answer_values == UNDECIDED
    cmap = ColumnMap(columns, (), guess.id_column,
                     guess.answer_values if guess.wjx and not undecided else None,
                     blocks={k: b.block for k, b in found.blocks.items()})
    n_found = len(columns) + sum(len(b.columns) for b in found.blocks.values())
    header = [f"column map guessed by xinli-screen from {input_file.name}",
              f"instruments: {', '.join(i.id for i in insts)}; {n_found} of {len(order)} "
              "items found; check every line before use"]
    if found.blocks:
        header.append("blocks: items found by question number from the answers, not the "
                      "wording; confirm each against the questionnaire")
    if guess.wjx:
        header.append("问卷星 export: answers read as " + {
            "text": "option text (按选项文本)", "sequence": "option positions (按序号)",
            "code": "codes (按分数 or cleaned)", "auto": "decided when scoring",
            UNDECIDED: "NOT DECIDED: the numbers fit both option positions (按序号) and "
                       "codes (按分数); add 'answer_values: sequence' or 'answer_values: "
                       "code' yourself (docs/errors.md#wjx-undecided)"}[guess.answer_values])
    if dropped:
        header.append(f"IP column {', '.join(dropped)} is never read")
    if guess.time_column:
        header.append(f"completion time: --time-column {guess.time_column}")
    header += [f"note: {n}" for n in [*guess.notes, *found.notes]]
    if guess.unmatched:
        header.append(f"NO COLUMN FOUND for: {', '.join(guess.unmatched)}")
    text = format_column_map(cmap, comments=guess.how, header=header, block_comments={
        k: [b.how] for k, b in found.blocks.items()})
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        stderr.print(f"wrote {output}", markup=False)
    for block in found.blocks.values():
        stderr.print(f"proposed block {block.instrument}: {block.block.to_yaml()}: {block.how}",
                     markup=False)
    for note in found.notes:
        stderr.print(f"note: {note}", markup=False)
    stderr.print(f"{n_found} of {len(order)} items found"
                 + (f"; no column for {', '.join(guess.unmatched)}" if guess.unmatched else "")
                 + (f"; id column {guess.id_column!r}" if guess.id_column else "; no id column"),
                 markup=False)
    if undecided:
        stderr.print("answer coding NOT DECIDED: the numbers fit both option positions "
                     "(按序号) and codes (按分数); no answer_values written; add "
                     "'answer_values: sequence' or 'answer_values: code' to the map "
                     "(docs/errors.md#wjx-undecided)", markup=False)
    if guess.unmatched or undecided:
        raise typer.Exit(int(ExitCode.DATA_PROBLEMS))
