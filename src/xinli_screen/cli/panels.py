"""``xinli-screen panel``: plausibility and fairness panels of a stored wave, DIF of a scale.

Only counts, rates and item statistics are printed or written: no pupil id or answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xinli_screen.cli._archive_options import KeyFileOpt, guarded, open_store
from xinli_screen.cli.console import fail
from xinli_screen.cli.exit_codes import ExitCode

app = typer.Typer(help="Is the screen plausible and fair here? Panels of a stored wave "
                  "(issue 16). Flags are prompts for review, not findings.",
                  no_args_is_help=True)

ArchiveArg = Annotated[str, typer.Option("--archive", envvar="XINLI_ARCHIVE",
                                         help="Archive path or URL.")]
WaveOpt = Annotated[str, typer.Option("--wave", help="Wave name.")]
OutOpt = Annotated[Path, typer.Option("-o", "--output", help=".html, .xlsx or .json")]


def _range(text: str) -> tuple[str, tuple[float, float]]:
    """``class=0.06-0.09`` or ``school=6-9%`` -> (indicator, (low, high))."""
    try:
        key, _, span = text.partition("=")
        pct = span.endswith("%")
        lo, _, hi = span.rstrip("%").partition("-")
        scale = 100.0 if pct else 1.0
        return key.strip(), (float(lo) / scale, float(hi or lo) / scale)
    except ValueError:
        fail(f"--expected {text!r}: use indicator=low-high, e.g. school=6-9% or "
             "class=0.15-0.20", ExitCode.USAGE)


def _previous(store: object, wave: str) -> str | None:
    waves = store.waves()  # type: ignore[attr-defined]
    names = waves["name"].tolist()
    if wave not in names:
        return None
    k = names.index(wave)
    return names[k - 1] if k > 0 else None


def _say(panel: object, path: Path) -> None:
    flags = panel.flags  # type: ignore[attr-defined]
    typer.echo(f"wave {panel.wave}: n = {panel.n} pupils; {len(flags)} flag(s)")  # type: ignore[attr-defined]
    for f in flags:
        typer.echo(f"  [{f['code']}] {f['text_zh']}")
    typer.echo(f"wrote {path}")


@app.command("plausibility")
def plausibility_command(
    output: OutOpt,
    wave: WaveOpt,
    archive: ArchiveArg = "xinli-archive.db",
    previous: Annotated[str | None, typer.Option(
        "--previous", help="Wave whose rates are expected (default: the wave before).")
    ] = None,
    expected: Annotated[list[str] | None, typer.Option(
        "--expected", help="Declared expected rate, e.g. school=6-9% (tiers: class, school, "
        "district; or a cut-off column such as phqa.total.screen_positive); repeatable.")
    ] = None,
    max_rule_rate: Annotated[float, typer.Option(
        "--max-rule-rate", help="Flag a rule firing for more than this share.")] = 0.20,
    key_file: KeyFileOpt = None,
) -> None:
    """Positive rates against expected ones, over-identifying rules, too-fast and invalid
    sheets per school, missingness (HTML, XLSX or JSON).

    Example: xinli-screen panel plausibility --archive district.db --wave 2027-spring
    --expected school=6-9% -o plausibility.html
    """
    from xinli_screen.evaluation.plausibility import plausibility_panel
    from xinli_screen.report.panels import write_panel

    store = open_store(archive, key_file)
    table = guarded(lambda: store.wave_table(wave))
    prev_name = previous or _previous(store, wave)
    prev = guarded(lambda: store.wave_table(prev_name)) if prev_name else None
    exp = dict(_range(e) for e in expected or [])
    panel = plausibility_panel(table, prev, wave=wave, expected=exp,
                               max_rule_rate=max_rule_rate)
    panel.settings["previous_wave_name"] = prev_name
    try:
        path = write_panel(panel, output)
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE)
    _say(panel, path)


@app.command("fairness")
def fairness_command(
    output: OutOpt,
    wave: WaveOpt,
    archive: ArchiveArg = "xinli-archive.db",
    attribute: Annotated[list[str] | None, typer.Option(
        "--attribute", help="Roster attribute to compare (default: every attribute but "
        "class: sex, grade, school, special-group flags); repeatable.")] = None,
    tier: Annotated[str, typer.Option(
        "--tier", help="warning_tier (effective, default) or screen_tier.")
    ] = "warning_tier",
    min_cell: Annotated[int, typer.Option("--min-cell", help="Smallest count shown.")] = 5,
    key_file: KeyFileOpt = None,
) -> None:
    """Tier rates by group with rate ratios, small cells suppressed (HTML, XLSX or JSON).

    Example: xinli-screen panel fairness --archive district.db --wave 2027-spring
    -o fairness.html
    """
    from xinli_screen.evaluation.fairness import fairness_panel
    from xinli_screen.report.panels import write_panel

    store = open_store(archive, key_file)
    table = guarded(lambda: store.wave_table(wave))
    attrs = None if not attribute else [a if a.startswith("attr.") else f"attr.{a}"
                                        for a in attribute]
    panel = guarded(lambda: fairness_panel(table, attrs, wave=wave, tier_column=tier,
                                           min_cell=min_cell))
    try:
        path = write_panel(panel, output)
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE)
    _say(panel, path)


@app.command("dif")
def dif_command(
    answers: Annotated[Path, typer.Argument(help="Answers (.csv or .xlsx) with one column "
                                            "per item id of the instrument.")],
    output: OutOpt,
    instrument: Annotated[str, typer.Option("--instrument", "-i", help="Instrument id.")],
    group: Annotated[str, typer.Option("--group", help="Grouping column (sex, grade ...).")],
    scale: Annotated[str, typer.Option("--scale", help="Scale id.")] = "total",
    criterion: Annotated[str, typer.Option(
        "--criterion", help="chisqr (lordif default, alpha 0.01), r2 (McFadden change >= "
        "0.02) or beta.")] = "chisqr",
    alpha: Annotated[float, typer.Option("--alpha")] = 0.01,
    r2_change: Annotated[float, typer.Option("--r2-change")] = 0.02,
) -> None:
    """Differential item functioning of one scale by a group, as R lordif (ordinal logistic
    regression, models 1-3), matched on the purified sum score.

    Example: xinli-screen panel dif answers.csv -i phqa --group 性别 -o dif.html
    """
    import pandas as pd

    from xinli_screen.evaluation.dif import dif_scale
    from xinli_screen.evaluation.fairness import FairnessPanel, add_dif
    from xinli_screen.instrument.registry import load_instrument
    from xinli_screen.report.panels import write_panel

    inst = guarded(lambda: load_instrument(instrument))
    spec = guarded(lambda: inst.scale(scale))
    items = list(inst.scale_items(spec))
    read = pd.read_excel if answers.suffix.lower() in (".xlsx", ".xls") else pd.read_csv
    data = guarded(lambda: read(answers, dtype=str))
    absent = [c for c in [*items, group] if c not in data.columns]
    if absent:
        fail(f"the answers lack the column(s) {absent}", ExitCode.USAGE)
    codes = data[items].apply(pd.to_numeric, errors="coerce")
    try:
        res = dif_scale(codes, data[group], criterion=criterion, alpha=alpha,
                        r2_change=r2_change)
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE)
    panel = FairnessPanel(wave=answers.name, n=res.n, rates=pd.DataFrame(
        columns=["attribute", "group", "tier", "n", "count", "rate", "ci_low", "ci_high",
                 "rest_n", "rest_count", "rr", "rr_low", "rr_high", "hidden", "flag"]),
        flags=[], exclusions=res.excluded, settings=res.settings)
    add_dif(panel, res, scale=f"{instrument}.{scale}", attribute=group)
    try:
        path = write_panel(panel, output)
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE)
    _say(panel, path)
