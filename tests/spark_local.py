"""One local[2] SparkSession for the Spark tests (tests/test_spark.py and the Spark case of
tests/test_backend_conformance.py), or a skip saying what is missing."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest


def local_session(app: str, **sql_conf: str) -> Any:
    """A ``local[2]`` SparkSession with the UI off, two shuffle partitions and ``sql_conf``
    (``spark.sql.`` settings, dots as ``__``); skips when pyspark or Java is absent."""
    pytest.importorskip("pyspark", reason="pyspark is not installed: pip install '.[spark]'")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime (apt-get install openjdk-17-jre-headless)")
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master("local[2]").appName(app)
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2"))
    for key, value in sql_conf.items():
        builder = builder.config("spark.sql." + key.replace("__", "."), value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
