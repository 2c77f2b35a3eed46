"""Regenerate the report screenshots in ``docs/img/`` from the generated district scenario.

Builds the 绿园区 scenario with the commands of the guide (docs/guide.md, section 0), renders
every HTML report and photographs each in headless Chromium at the width of an A4 page at
96 dpi (794 px), cropped to the first 1,400 px:

=================================  ==========================================================
``report_group.png``               ``report group --by school,grade,class`` over both waves
``report_pupil_psychologist.png``  ``report pupil ID --view psychologist``
``report_pupil_teacher.png``       ``report pupil ID --view teacher`` (same pupil)
``followup.png``                   ``followup list -o 待办.html`` (as of 8 days after today)
=================================  ==========================================================

The pupil is the first 区级预警 pupil of wave 1's warning list who is also in wave 2 and
whose return-sheet row was filled validly (so the file shows both waves and a review).

The commands, run in the scenario folder exactly as documented::

    xinli-screen example-data district --district
    cd district
    xinli-screen wave run wave1.yaml --archive district.db --by 王老师 --keep-names
    xinli-screen wave list --archive district.db --wave 2026-autumn -o lists
    python -m xinli_screen.demo.returns lists
    xinli-screen review import lists/复核回执_*.xlsx --archive district.db --by 区中心 \\
        --skip-invalid
    xinli-screen wave run wave2.yaml --archive district.db --by 王老师 --keep-names
    xinli-screen followup list --archive district.db --wave 2026-autumn --as-of DATE -o 待办.html
    xinli-screen report group --archive district.db --wave 2026-autumn --wave 2027-spring \\
        --by school,grade,class -o group.html
    xinli-screen report pupil ID --archive district.db --view psychologist \\
        -o pupil_psychologist.html
    xinli-screen report pupil ID --archive district.db --view teacher -o pupil_teacher.html

(``review import`` exits 1 on purpose: the demo spoils five rows; the valid rows are stored.)
The commands run in this process through the CLI's own entry point, not as subprocesses.

Usage::

    python scripts/screenshots.py                 # writes docs/img/*.png (about 2-4 minutes)
    python scripts/screenshots.py --out /tmp/img --work /tmp/district

Needs ``playwright`` (the ``test`` extra) and Debian's ``chromium`` with ``fonts-noto-cjk``;
Playwright drives the system Chromium (``executable_path``), it never downloads a browser.
``tests/test_report_browser.py`` loads this file for the same scenario and screenshots.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

#: A4 width at 96 dpi: the viewport of every check and screenshot.
A4_WIDTH = 794
#: A4 height at 96 dpi.
A4_HEIGHT = 1123
#: A4 less 12 mm margins each side (the widest @page margins of the reports): print width.
PRINT_WIDTH = 703
#: Screenshots keep the first screen of this height (the files stay small).
SHOT_HEIGHT = 1400
#: report -> screenshot file name in docs/img/
SHOTS = {
    "group": "report_group.png",
    "pupil_psychologist": "report_pupil_psychologist.png",
    "pupil_teacher": "report_pupil_teacher.png",
    "followup": "followup.png",
}
WAVES = ("2026-autumn", "2027-spring")
DOCS_IMG = Path(__file__).resolve().parents[1] / "docs" / "img"


@dataclass
class Scenario:
    """The built scenario: its folder, archive, chosen pupil and rendered HTML reports."""

    folder: Path
    db: Path
    pupil: str
    as_of: dt.date
    reports: dict[str, Path] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)


def find_chromium() -> str | None:
    """Path of the system Chromium (Debian's ``chromium``), or None."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@contextmanager
def _cwd(folder: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def cli(*args: object, ok: tuple[int, ...] = (0,)) -> str:
    """Run ``xinli-screen ARGS`` in this process; fail unless the exit code is in ``ok``."""
    from typer.testing import CliRunner

    from xinli_screen.cli.app import app

    run = CliRunner().invoke(app, [str(a) for a in args])
    if run.exit_code not in ok:
        raise RuntimeError(f"xinli-screen {' '.join(map(str, args))} exited {run.exit_code}:\n"
                           f"{run.output}\n{run.exception!r}")
    return run.output


def pick_pupil(folder: Path) -> str:
    """First 区级 (else 校级) pupil of wave 1's warning list who is in wave 2 and was reviewed.

    Reads ``lists/预警名单_2026-autumn.csv`` (column 学号) and the demo's
    ``lists/returns_truth.csv`` (rows filled validly); wave 2's pupils from the archive.
    """
    from xinli_screen.archive import ArchiveStore

    listed = pd.read_csv(folder / "lists" / "预警名单_2026-autumn.csv", dtype=str,
                         encoding="utf-8-sig")
    truth = pd.read_csv(folder / "lists" / "returns_truth.csv", dtype=str)
    reviewed = set(truth.loc[truth["valid"].str.lower() == "true", "pupil_id"])
    with ArchiveStore(folder / "district.db") as store:
        wave2 = set(store.wave_table(WAVES[1])["pupil_id"].astype(str))
    for tier in ("区级预警", "校级预警"):
        ids = listed.loc[listed["预警级别"] == tier, "学号"]
        for pid in ids:
            if pid in wave2 and pid in reviewed:
                return str(pid)
    raise LookupError("no 区级/校级 pupil of wave 1 reviewed and present in wave 2")


def build_scenario(parent: Path, *, today: dt.date | None = None) -> Scenario:
    """Generate the district scenario under ``parent/district`` and render every HTML report.

    Parameters
    ----------
    parent : Path
        An empty folder; the scenario goes to ``parent/district``.
    today : date, optional
        The date of the review returns (default: today); the follow-up list is drawn up
        8 days later, so that some deadlines have passed.
    """
    from xinli_screen.demo import returns

    returns_argv = ["lists"] if today is None else ["lists", "--date", today.isoformat()]
    today = today or dt.date.today()
    as_of = today + dt.timedelta(days=8)
    parent.mkdir(parents=True, exist_ok=True)
    out: dict[str, str] = {}
    with _cwd(parent):
        out["example-data"] = cli("example-data", "district", "--district")
    folder = parent / "district"
    db = "district.db"
    with _cwd(folder):
        out["wave1"] = cli("wave", "run", "wave1.yaml", "--archive", db, "--by", "王老师",
                           "--keep-names")
        out["list"] = cli("wave", "list", "--archive", db, "--wave", WAVES[0], "-o", "lists")
        returns.main(returns_argv)
        sheets = sorted(str(p) for p in Path("lists").glob("复核回执_*.xlsx"))
        out["import"] = cli("review", "import", *sheets, "--archive", db, "--by", "区中心",
                            "--skip-invalid", ok=(0, 1))
        out["wave2"] = cli("wave", "run", "wave2.yaml", "--archive", db, "--by", "王老师",
                           "--keep-names")
        out["followup"] = cli("followup", "list", "--archive", db, "--wave", WAVES[0],
                              "--as-of", as_of.isoformat(), "-o", "待办.html")
        out["group"] = cli("report", "group", "--archive", db, "--wave", WAVES[0],
                           "--wave", WAVES[1], "--by", "school,grade,class", "-o", "group.html")
        pupil = pick_pupil(folder)
        for view in ("psychologist", "teacher"):
            out[f"pupil_{view}"] = cli("report", "pupil", pupil, "--archive", db, "--view", view,
                                       "-o", f"pupil_{view}.html")
    reports = {"group": folder / "group.html",
               "pupil_psychologist": folder / "pupil_psychologist.html",
               "pupil_teacher": folder / "pupil_teacher.html",
               "followup": folder / "待办.html"}
    return Scenario(folder=folder, db=folder / db, pupil=pupil, as_of=as_of, reports=reports,
                    outputs=out)


def launch(playwright: Any, executable: str | None = None) -> Any:
    """Headless system Chromium through Playwright (never a downloaded browser)."""
    executable = executable or find_chromium()
    if executable is None:
        raise FileNotFoundError("chromium is not on PATH (apt-get install chromium "
                                "fonts-noto-cjk)")
    return playwright.chromium.launch(executable_path=executable, headless=True)


def open_report(browser: Any, html: Path, *, width: int = A4_WIDTH) -> Any:
    """A new page of ``width`` CSS px (A4 height) showing ``html``; fonts loaded."""
    page = browser.new_page(viewport={"width": width, "height": A4_HEIGHT},
                            device_scale_factor=1)
    page.goto(html.resolve().as_uri())
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready.then(() => true)")
    return page


def screenshot(page: Any, png: Path, *, height: int = SHOT_HEIGHT) -> Path:
    """PNG of the page's first ``height`` px (or less when the page is shorter)."""
    full = int(page.evaluate("document.documentElement.scrollHeight"))
    width = int(page.viewport_size["width"])
    png.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(png), full_page=True,
                    clip={"x": 0, "y": 0, "width": width, "height": min(height, full)})
    return png


def take_screenshots(scenario: Scenario, out: Path, browser: Any) -> dict[str, Path]:
    """Screenshot the four reports of ``scenario`` into ``out`` (names from :data:`SHOTS`)."""
    written = {}
    for report, name in SHOTS.items():
        page = open_report(browser, scenario.reports[report])
        try:
            written[report] = screenshot(page, out / name)
        finally:
            page.close()
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: build the scenario and write the screenshots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS_IMG, help="default: docs/img")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the scenario (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="xinli-shots-") as tmp:
        work = args.work or Path(tmp)
        scenario = build_scenario(work)
        with sync_playwright() as pw:
            browser = launch(pw)
            try:
                written = take_screenshots(scenario, args.out, browser)
            finally:
                browser.close()
    for path in written.values():
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
    print(f"pupil {scenario.pupil}; follow-up list as of {scenario.as_of}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
