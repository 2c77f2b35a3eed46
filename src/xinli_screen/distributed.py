"""Screen on a dask.distributed cluster (re-exported from :mod:`xinli_screen.backends.dask`,
where the Dask adapter of the batch kernel lives; optional: ``pip install
'xinli-screen[dask]'``)."""

from __future__ import annotations

from xinli_screen.backends.dask import connect, screen_dask, screen_files, to_dask

__all__ = ["connect", "screen_dask", "screen_files", "to_dask"]
