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
                                            "per item.")],
    output: OutOpt,
    group: Annotated[str, typer.Option("--group", help="Grouping column (sex, grade ...).")],
    instrument: Annotated[str | None, typer.Option(
        "--instrument", "-i", help="Bundled instrument id (its items and declared codes).")]
        = None,
    items: Annotated[str | None, typer.Option(
        "--items", help="Item columns of a scale with no bundled instrument, comma-separated "
        "(e.g. R1,R2,R3); answers must be whole-number codes.")] = None,
    codes: Annotated[str | None, typer.Option(
        "--codes", help="With --items: the declared codes, e.g. 1-5; other answers are "
        "excluded and counted.")] = None,
    scale: Annotated[str, typer.Option("--scale", help="Scale id (with --instrument).")]
        = "total",
    criterion: Annotated[str, typer.Option(
        "--criterion", help="chisqr (lordif default, alpha 0.01), r2 (McFadden change >= "
        "0.02) or beta.")] = "chisqr",
    alpha: Annotated[float, typer.Option("--alpha")] = 0.01,
    r2_change: Annotated[float, typer.Option("--r2-change")] = 0.02,
    min_group: Annotated[int, typer.Option(
        "--min-group", help="Groups with fewer pupils are left out (stated in every "
        "output).")] = 10,
) -> None:
    """Differential item functioning of one scale by a group, as R lordif (ordinal logistic
    regression, models 1-3), matched on the purified sum score.

    Examples: xinli-screen panel dif answers.csv -i phqa --group 性别 -o dif.html;
    xinli-screen panel dif Anxiety.csv --items R1,R2,R3 --codes 1-5 --group gender -o dif.html
    """
    import pandas as pd

    from xinli_screen.evaluation.dif import dif_scale
    from xinli_screen.evaluation.fairness import FairnessPanel, add_dif
    from xinli_screen.instrument.registry import load_instrument
    from xinli_screen.report.panels import write_panel

    if (instrument is None) == (items is None):
        fail("give either --instrument (a bundled instrument) or --items R1,R2,... "
             "(the item columns)", ExitCode.USAGE)
    if min_group < 2:
        fail(f"--min-group must be 2 or more; got {min_group}", ExitCode.USAGE)
    bounds: dict[str, tuple[float, float]] = {}
    if instrument is not None:
        inst = guarded(lambda: load_instrument(instrument))
        spec = guarded(lambda: inst.scale(scale))
        cols = list(inst.scale_items(spec))
        lo, hi = inst.item_bounds
        bounds = {i: (float(a), float(b)) for i, a, b in
                  zip(inst.item_ids, lo, hi, strict=True) if i in cols}
        label = f"{instrument}.{scale}"
    else:
        cols = [c.strip() for c in str(items).split(",") if c.strip()]
        label = "items " + ",".join(cols)
        if codes:
            try:
                a, _, b = codes.partition("-")
                bounds = {c: (float(a), float(b)) for c in cols}
            except ValueError:
                fail(f"--codes {codes!r}: use low-high, e.g. 1-5", ExitCode.USAGE)
    read = pd.read_excel if answers.suffix.lower() in (".xlsx", ".xls") else pd.read_csv
    data = guarded(lambda: read(answers, dtype=str))
    absent = [c for c in [*cols, group] if c not in data.columns]
    if absent:
        fail(f"the answers lack the column(s) {absent}", ExitCode.USAGE)
    answers_num = data[cols].apply(pd.to_numeric, errors="coerce")
    has_group = data[group].notna() & data[group].astype(str).str.strip().ne("")
    unreadable = int(((answers_num.isna() & data[cols].notna()).any(axis=1)
                      & has_group).sum())
    try:
        res = dif_scale(answers_num, data[group], criterion=criterion, alpha=alpha,
                        r2_change=r2_change, min_group=min_group, bounds=bounds or None)
    except ValueError as exc:
        fail(f"DIF refused: {exc}", ExitCode.USAGE)
    if unreadable:
        res.excluded["an answer that is not a number"] = unreadable
        res.excluded["an item unanswered"] -= unreadable
    panel = FairnessPanel(wave=answers.name, n=res.n, rates=pd.DataFrame(
        columns=["attribute", "group", "tier", "n", "count", "rate", "ci_low", "ci_high",
                 "rest_n", "rest_count", "rr", "rr_low", "rr_high", "hidden", "flag"]),
        flags=[], exclusions=res.excluded, settings=res.settings, kind="dif")
    add_dif(panel, res, scale=label, attribute=group)
    try:
        path = write_panel(panel, output)
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE)
    _say(panel, path)
    for k, v in res.excluded.items():
        if v:
            typer.echo(f"excluded: {k}: {v}")
    dropped = res.settings.get("groups_dropped") or {}
    if dropped:
        typer.echo(f"groups left out (under {min_group} pupils): "
                   + "; ".join(f"{k}: n = {v}" for k, v in dropped.items()))
    failed = res.table["note"].astype(str).ne("").sum() if "note" in res.table else 0
    if failed:
        typer.echo(f"{failed} item(s) not estimable (see the note column)")
