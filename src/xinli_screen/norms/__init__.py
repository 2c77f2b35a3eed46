"""Norms: published and local norm tables, standard scores, continuous norming.

- :class:`NormTable` (``models``): the YAML format of ``instruments/norms/*.yaml``.
- :func:`load_norms`, :func:`list_norms` (``loader``): bundled ids or paths, every problem
  with file and line.
- :func:`map_groups` (``groups``): raw group columns (``男``/``女``, ``初一``) -> level codes.
- :func:`apply_norms` (``apply``): z, T, percentile, stanine, sten and a norm status per scale.
- :func:`fit`, :func:`to_yaml` (``fit``): local norms from a reference wave.
- :func:`fit_continuous` (``continuous``): cNORM-style norms over age or grade.
- ``standard``: the standard-score formulas.

Screening results are not a diagnosis; a T score says where a pupil stands relative to a norm
group, nothing more.
"""

from xinli_screen.norms.apply import NORM_STATUSES, apply_norms
from xinli_screen.norms.continuous import agreement, fit_continuous
from xinli_screen.norms.errors import (
    NormDefinitionError,
    NormMismatchError,
    NormWarning,
    SmallCellWarning,
)
from xinli_screen.norms.fit import fit, to_yaml
from xinli_screen.norms.groups import map_groups
from xinli_screen.norms.loader import (
    LoadedNormTable,
    list_norms,
    load_norms,
    load_norms_with_hash,
    validate_norm_file,
)
from xinli_screen.norms.models import NormTable, norm_json_schema

__all__ = [
    "NORM_STATUSES",
    "LoadedNormTable",
    "NormDefinitionError",
    "NormMismatchError",
    "NormTable",
    "NormWarning",
    "SmallCellWarning",
    "agreement",
    "apply_norms",
    "fit",
    "fit_continuous",
    "list_norms",
    "load_norms",
    "load_norms_with_hash",
    "map_groups",
    "norm_json_schema",
    "to_yaml",
    "validate_norm_file",
]
