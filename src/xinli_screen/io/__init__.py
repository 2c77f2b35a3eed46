"""Reading answer files and writing results.

Readers: CSV (encoding sniffed), XLSX/XLS, SPSS .sav, Parquet, JSON lines, FHIR
QuestionnaireResponse (:func:`read_table`); export conventions (问卷星, SPSS value labels, FHIR
linkIds) applied by :func:`load_answers`; chunked reading for streaming (:func:`iter_chunks`);
rosters and other side tables with the same encoding sniffing (:func:`read_side_table`).
Writers: CSV, XLSX, Parquet, JSON, FHIR Observations (:func:`write_result`).
"""

from xinli_screen.io.column_map import ColumnMap, read_column_map
from xinli_screen.io.readers import read_side_table, read_table
from xinli_screen.io.source import load_answers
from xinli_screen.io.stream import iter_chunks
from xinli_screen.io.writers import write_failures, write_result

__all__ = ["ColumnMap", "iter_chunks", "load_answers", "read_column_map", "read_side_table",
           "read_table", "write_failures", "write_result"]
