"""Archive back ends for the tests: a SQLite file always, PostgreSQL when a server is there.

The PostgreSQL tests read the server URL from ``XINLI_TEST_PG_URL`` (set by ``.ci/postgres.sh``,
e.g. ``postgresql+psycopg://xinli:xinli@127.0.0.1:5432/xinli_test``); without it they are
skipped, and the skip reason says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PG_ENV = "XINLI_TEST_PG_URL"
BACKENDS = ["sqlite", "postgresql"]


def fresh_target(backend: str, tmp_path: Path) -> str:
    """A SQLite path under ``tmp_path``, or the PostgreSQL URL with every archive table dropped."""
    if backend == "sqlite":
        return str(tmp_path / "archive.db")
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"no PostgreSQL server: {PG_ENV} is not set (.ci/postgres.sh starts one)")
    from sqlalchemy import create_engine, text

    from xinli_screen.archive.models import Base

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    except Exception as exc:  # server named but not reachable
        pytest.skip(f"PostgreSQL at {PG_ENV} not reachable: {type(exc).__name__}")
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def archive_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty archive target on each back end."""
    return fresh_target(request.param, tmp_path)
