"""Reading answer files and writing results (CSV, XLSX, Parquet, JSON)."""

from xinli_screen.io.column_map import ColumnMap, read_column_map
from xinli_screen.io.readers import read_table
from xinli_screen.io.writers import write_failures, write_result

__all__ = ["ColumnMap", "read_column_map", "read_table", "write_failures", "write_result"]
