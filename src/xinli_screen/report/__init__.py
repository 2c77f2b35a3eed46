"""Reports: the pupil file (psychologist and class-teacher views) and group summaries.

HTML through jinja2 templates (``templates/``), charts through matplotlib (Agg backend),
embedded as PNG data URIs so that each report is one self-contained file.
"""

from __future__ import annotations

__all__: list[str] = []
