"""``xinli-screen instruments``: list, show, validate and print the JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from xinli_screen.cli.console import load_or_fail, validate_files
from xinli_screen.errors import InstrumentDefinitionError
from xinli_screen.instrument.catalogue import catalogue_markdown
from xinli_screen.instrument.models import instrument_json_schema
from xinli_screen.instrument.registry import (
    list_instruments,
    load_instrument,
    validate_instrument_file,
)
from xinli_screen.policy.models import policy_json_schema

app = typer.Typer(help="List, show and validate instrument definitions.", no_args_is_help=True,
                  epilog="Example: xinli-screen instruments validate my_scale.yaml")


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="The catalogue table used in docs/instruments.md.")] = False,
) -> None:
    """List the bundled instruments.

    Example: xinli-screen instruments list --json
    """
    if markdown:
        typer.echo(catalogue_markdown())
        return
    summaries = [load_instrument(i).summary() for i in list_instruments()]
    if as_json:
        typer.echo(json.dumps(summaries, ensure_ascii=False, indent=1))
        return
    for s in summaries:
        typer.echo(f"{s['id']:<8} v{s['version']:<7} {s['n_items']:>3} items  "
                   f"{s['name_zh']} / {s['name_en']}")


@app.command("show")
def show_command(
    instrument: Annotated[str, typer.Argument(help="Bundled id or path to a YAML file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full definition.")] = False,
) -> None:
    """Show one instrument: items, scales, bands, cut-offs, critical items, licence.

    Example: xinli-screen instruments show phq9
    """
    inst = load_or_fail(load_instrument, instrument, InstrumentDefinitionError)
    if as_json:
        typer.echo(inst.model_dump_json(indent=1, exclude_none=True))
        return
    typer.echo(f"{inst.id} v{inst.version}: {inst.name.zh} / {inst.name.en}")
    shipped = any(i.text for i in inst.items)
    typer.echo(f"licence: {inst.licence.name} (item wording shipped: "
               f"{'yes' if shipped else 'no'}; allowed: "
               f"{'yes' if inst.licence.item_text_allowed else 'no'})")
    for c in inst.citation:
        typer.echo(f"source: {c.text}")
    for scale in inst.scales:
        lo, hi = inst.scale_range(scale)
        if scale.is_composite:
            parts = f"{scale.method} of scales {', '.join(scale.scales)}"
        else:
            parts = (f"{scale.method} of {len(scale.items)} items, needs "
                     f"{scale.required_answers} answered{', prorated' if scale.prorate else ''}")
        extra = f", x{scale.multiplier:g}" if scale.multiplier != 1 else ""
        typer.echo(f"scale {scale.id}: {parts}{extra}, range {lo:g}-{hi:g}")
        for band in scale.bands:
            typer.echo(f"  band {band.id:<20} >= {band.min:g}  {band.label.zh or ''}")
        for cut in scale.cutoffs:
            typer.echo(f"  cut-off {cut.id}: {cut.op} {cut.value:g} ({cut.source})")
    numbers = {i.id: i.number for i in inst.items}
    for crit in inst.critical_items:
        state = ("on by default" if crit.active else
                 f"opt-in: off unless a policy lists {inst.id}.{crit.id} under "
                 "enable_critical_items")
        typer.echo(f"critical item {inst.id}.{crit.id} ({state}): {crit.item} "
                   f"(#{numbers.get(crit.item, '?')}) {crit.op} {crit.value:g}: "
                   f"{crit.meaning.get('en')}")


@app.command("validate")
def validate_command(
    paths: Annotated[list[Path], typer.Argument(help="Instrument YAML files.")],
) -> None:
    """Check instrument YAML files; every problem is listed with file, line and field.

    Exit code 0 when all are valid, 3 when any has an error.

    Example: xinli-screen instruments validate my_scale.yaml
    """
    validate_files(paths, validate_instrument_file,
                   lambda m: f"{m.id} v{m.version}, {len(m.items)} items")


@app.command("schema")
def schema_command(
    policy: Annotated[bool, typer.Option("--policy", help="Schema of policy files.")] = False,
) -> None:
    """Print the JSON Schema of instrument (or policy) YAML files, for editor validation.

    Example: xinli-screen instruments schema > instrument.schema.json
    """
    schema = policy_json_schema() if policy else instrument_json_schema()
    typer.echo(json.dumps(schema, ensure_ascii=False, indent=1))
