"""The one jinja2 environment every HTML report is rendered with.

Report fields carry text typed by pupils, teachers and administrators (ids from a 问卷星 fill-in,
wave names, school and class names, review and action notes), so:

- autoescaping is on for every template, whatever its name (``select_autoescape()`` would not
  match ``*.html.j2``); nothing in the templates is marked ``|safe``;
- every template starts with the Content-Security-Policy :data:`CSP` (written out in the
  template's ``<meta http-equiv>``, so that it holds however the template is rendered; a test
  checks every template carries it), which forbids every script, inline or not, and every
  network load: the charts are SVG data URIs and the styles are inline, which is all a report
  needs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["CSP", "TEMPLATES", "environment"]

#: Folder of the report templates.
TEMPLATES = Path(__file__).with_name("templates")

#: Content-Security-Policy of every HTML report (a ``<meta http-equiv>`` in each template): no
#: script of any kind, no plugin, no frame, no form target, no network load; images only as
#: ``data:`` URIs (the embedded charts), styles only inline.
CSP = ("default-src 'none'; script-src 'none'; object-src 'none'; img-src data:; "
       "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The jinja2 environment of the HTML reports, autoescaping every template.

    Returns
    -------
    jinja2.Environment
        Templates from :data:`TEMPLATES`, autoescape on. Shared: do not change it.
    """
    from jinja2 import Environment, FileSystemLoader

    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
