"""``xinli-screen validate-screen``: accuracy of a wave's screen against the 复核 outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xinli_screen.cli._archive_options import ArchiveOpt, ByOpt, KeyFileOpt, guarded, open_store
from xinli_screen.cli.console import fail, stderr
from xinli_screen.cli.exit_codes import ExitCode

__all__ = ["validate_screen_command"]


def validate_screen_command(
    wave: Annotated[str, typer.Option("--wave", help="Wave name in the archive.")],
    output: Annotated[list[Path] | None, typer.Option(
        "-o", "--output", help=".html, .xlsx or .json (repeatable).")] = None,
    archive: ArchiveOpt = "xinli-archive.db",
    tier_changed: Annotated[str, typer.Option(
        "--tier-changed", help="How 复核调整级别 counts: by_new_tier (present unless the new "
        "tier is 无预警), positive, negative or exclude.")] = "by_new_tier",
    cost: Annotated[float, typer.Option(
        "--cost", help="Cost of a missed case relative to a false alarm (cost-weighted "
        "cut-off).")] = 5.0,
    min_cell: Annotated[int, typer.Option(
        "--min-cell", help="In groups, hide figures resting on a count below this.")] = 5,
    exact: Annotated[bool, typer.Option(
        "--exact", help="Clopper-Pearson intervals instead of Wilson.")] = False,
    n_boot: Annotated[int, typer.Option(
        "--n-boot", help="Bootstrap resamples for the cut-off intervals.")] = 1000,
    seed: Annotated[int, typer.Option("--seed")] = 2026,
    key_file: KeyFileOpt = None,
    by: ByOpt = "report",
) -> None:
    """How well the screen agrees with the district's 复核 outcomes: sensitivity, specificity,
    PPV, NPV and likelihood ratios (naive and Begg-Greenes corrected for verification bias),
    ROC/AUC with DeLong CIs and optimal cut-offs, per instrument cut-off and by grade, sex and
    school. Screening is not diagnosis.

    Example: xinli-screen validate-screen --archive district.db --wave 2026-autumn
    -o 准确性.html -o 准确性.xlsx
    """
    from xinli_screen.evaluation.accuracy_render import write_accuracy
    from xinli_screen.evaluation.accuracy_report import REFERENCE_RULES, screen_accuracy
    from xinli_screen.report.group_protect import SuppressionError, check_min_cell

    if tier_changed not in REFERENCE_RULES:
        fail(f"--tier-changed must be one of {', '.join(REFERENCE_RULES)}", ExitCode.USAGE)
    if not cost > 0:
        fail(f"--cost must be above 0 (the cost of a missed case relative to a false alarm; "
             f"got {cost:g})", ExitCode.USAGE)
    if n_boot < 100:
        fail(f"--n-boot must be at least 100 (bootstrap resamples for the cut-off intervals; "
             f"got {n_boot})", ExitCode.USAGE)
    try:
        check_min_cell(min_cell)
    except SuppressionError as exc:
        fail(str(exc), ExitCode.USAGE)
    for path in output or []:
        if path.suffix.lower() not in (".xlsx", ".html", ".htm", ".json"):
            fail(f"{path}: the accuracy report must be .html, .xlsx or .json", ExitCode.USAGE)
    store = open_store(archive, key_file)
    try:
        table = guarded(lambda: store.wave_table(wave))
        store.log_access(None, "validate_screen", by=by, wave=wave)
    finally:
        store.close()
    if table is None or len(table) == 0:
        fail(f"no results of wave {wave!r} in the archive", ExitCode.USAGE)
    try:
        report = screen_accuracy(table, wave=wave, tier_changed=tier_changed,
                                 min_cell=min_cell, cost=cost,
                                 method="exact" if exact else "wilson", n_boot=n_boot,
                                 seed=seed)
    except ValueError as exc:
        fail(str(exc), ExitCode.USAGE)
    c = report.counts
    stderr.print(f"{wave}: {c['pupils']} pupils, {c['excluded']} excluded, {c['analysed']} "
                 f"analysed; verified (复核) {c['verified']}: {c['verified_screen_positive']} "
                 f"on the list, {c['verified_screen_negative']} not on the list", markup=False)
    stderr.print(f"reference standard: {report.reference}", markup=False)
    m = report.measures
    wl = m[(m["test"] == "warning_list") & (m["by"] == "all")].set_index("measure")
    for key, zh in (("sensitivity", "灵敏度"), ("specificity", "特异度"), ("ppv", "阳性预测值")):
        if key not in wl.index:
            continue
        r = wl.loc[key]
        shown = (f"{r['corrected']:.3f} ({r['corrected_lower']:.3f}-{r['corrected_upper']:.3f})"
                 if not r["corrected_reason"] else f"not estimable: {r['corrected_reason']}")
        stderr.print(f"  预警名单 {zh} {key} (Begg-Greenes): {shown}", markup=False)
    for path in output or []:
        write_accuracy(report, path)
        stderr.print(f"wrote {path} (counts and figures only, no pupil ids)", markup=False)
