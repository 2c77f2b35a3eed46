"""Optional dependencies: import one, or fail with a message naming the extra that installs it.

The core (``pip install xinli-screen``) scores a DataFrame and reads CSV, XLSX and Parquet.
Readers of other formats are extras, listed in ``pyproject.toml``:

=================  =============  ====================================
package            extra          needed for
=================  =============  ====================================
``pyreadstat``     ``spss``       SPSS ``.sav`` / ``.zsav`` files
``xlrd``           ``xls``        Excel 97-2003 ``.xls`` workbooks
``dask``           ``dask``       ``score --scheduler``, dask DataFrames
``fhir.resources`` ``fhir``       validating FHIR output
=================  =============  ====================================

``pip install 'xinli-screen[district]'`` installs the readers a district office needs.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from xinli_screen.errors import XinliScreenError

__all__ = ["EXTRAS", "MissingDependencyError", "import_optional", "missing_extra_message"]

#: importable module -> (distribution name on PyPI, extra of xinli-screen that installs it)
EXTRAS: dict[str, tuple[str, str]] = {
    "pyreadstat": ("pyreadstat", "spss"),
    "xlrd": ("xlrd", "xls"),
    "dask": ("dask", "dask"),
    "fhir.resources": ("fhir.resources", "fhir"),
}


class MissingDependencyError(XinliScreenError, ImportError):
    """An optional package is not installed; the message names the extra that installs it."""


def missing_extra_message(module: str, purpose: str) -> str:
    """``"{purpose} needs the optional package 'x': pip install 'xinli-screen[extra]'"``."""
    dist, extra = EXTRAS[module]
    return (f"{purpose} needs the optional package {dist!r}, which is not installed: "
            f"pip install 'xinli-screen[{extra}]' (or 'xinli-screen[district]' for every "
            "reader)")


def import_optional(module: str, purpose: str,
                    error: type[Exception] = MissingDependencyError) -> ModuleType:
    """Import ``module`` or raise ``error`` with :func:`missing_extra_message`.

    Parameters
    ----------
    module : str
        A key of :data:`EXTRAS`.
    purpose : str
        What needs it, e.g. ``"data.sav: reading SPSS files"``; never pupil data.
    error : exception class
        Raised when the import fails (a reader passes its own ``ResponseDataError``).
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise error(missing_extra_message(module, purpose)) from None
