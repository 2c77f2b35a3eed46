"""A Markdown table of the bundled instruments, generated from their YAML files.

``docs/instruments.md`` embeds this table between markers; a test checks that it is current, so
the documentation can never drift from the definitions.
"""

from __future__ import annotations

from xinli_screen.instrument.models import Instrument
from xinli_screen.instrument.registry import list_instruments, load_instrument

__all__ = ["BEGIN_MARK", "END_MARK", "catalogue_markdown", "catalogue_rows"]

BEGIN_MARK = "<!-- BEGIN INSTRUMENT TABLE (generated: xinli-screen instruments list --markdown) -->"
END_MARK = "<!-- END INSTRUMENT TABLE -->"


def _cutoffs(inst: Instrument) -> str:
    parts = [f"{s.id} {c.op} {c.value:g}" for s in inst.scales for c in s.cutoffs]
    parts += [f"{v.scale} {v.op} {v.value:g} (validity)" for v in inst.validity_checks]
    return "; ".join(parts) or "none"


def catalogue_rows(ids: list[str] | None = None) -> list[dict[str, str]]:
    """One dict per bundled instrument: id, names, items, scales, population, cut-offs,
    critical items, licence and what ships (item wording or key only)."""
    rows = []
    for inst_id in ids or list_instruments():
        inst = load_instrument(inst_id)
        crit = [f"item {next(i.number for i in inst.items if i.id == c.item)}"
                + ("" if c.active else " (opt-in)") for c in inst.critical_items]
        rows.append({
            "id": inst.id,
            "name": f"{inst.name.zh or ''} / {inst.name.en or ''}".strip(" /"),
            "items": str(len(inst.items)),
            "scales": ", ".join(s.id for s in inst.scales),
            "population": inst.population or "",
            "cut-offs": _cutoffs(inst),
            "critical items": ", ".join(crit) or "none",
            "licence": inst.licence.name,
            "ships": "item wording + key" if any(i.text for i in inst.items) else "key only",
        })
    return rows


def catalogue_markdown(ids: list[str] | None = None) -> str:
    """The catalogue as a Markdown table (pipes in cells escaped)."""
    rows = catalogue_rows(ids)
    head = list(rows[0]) if rows else ["id"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        lines.append("| " + " | ".join(row[h].replace("|", "\\|") for h in head) + " |")
    return "\n".join(lines)
