"""Reports: the pupil file (psychologist and class-teacher views) and group summaries.

HTML through jinja2 templates (``templates/``), charts through matplotlib (Agg backend),
embedded as SVG data URIs (text kept as text, so the browser draws Chinese with its own
font) so that each report is one self-contained file.
"""

from __future__ import annotations

__all__: list[str] = []
