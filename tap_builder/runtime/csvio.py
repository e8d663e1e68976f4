"""CSV answers and files: rows to records, typed by the stream's schema.

The header row (or the spec's ``columns``) names the fields; each later row is
a record. A row with fewer values than columns lacks the last fields; a row
with more is an error, as is a broken quote. Blank lines are skipped. Values
are typed by the schema (see :mod:`typedtext`).
"""

from __future__ import annotations

import csv
import io
import typing as t
from functools import cached_property

from .streams import BuilderStream
from .typedtext import Caster, compile_record_caster

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

_UTF8 = frozenset({"utf-8", "utf8", "utf_8"})


def _names(
    reader: t.Iterator[list[str]], options: Mapping[str, t.Any]
) -> list[str] | None:
    """The column names; None when a header row was expected but none came."""
    columns: list[str] = list(options.get("columns", ()))
    if not options.get("header", True):
        return columns
    header = next(reader, None)
    if header is None:
        return None
    if not columns:
        return header
    if len(columns) != len(header):
        msg = (
            f"the header row has {len(header)} columns, but the spec names "
            f"{len(columns)}"
        )
        raise ValueError(msg)
    return columns


def read_csv(
    file: t.IO[bytes], options: Mapping[str, t.Any]
) -> Iterator[dict[str, str]]:
    """Records (field -> text) from a CSV file, read as it goes.

    Raises:
        ValueError: naming the line, when the file is not CSV as configured.
    """
    encoding = str(options.get("encoding", "utf-8"))
    if encoding.lower() in _UTF8:
        encoding = "utf-8-sig"  # a byte order mark is not part of the first name
    text = io.TextIOWrapper(file, encoding=encoding, newline="")
    reader = csv.reader(
        text,
        delimiter=str(options.get("delimiter", ",")),
        quotechar=str(options.get("quotechar", '"')),
        strict=True,
    )
    try:
        for _ in range(int(options.get("skip_rows", 0))):
            next(reader, None)
        columns = _names(reader, options)
        for row in reader if columns is not None else ():
            if len(row) > len(columns or ()):
                msg = (
                    f"line {reader.line_num} has {len(row)} values, but there are "
                    f"{len(columns or ())} columns"
                )
                raise ValueError(msg)
            if row:
                yield dict(zip(columns or (), row, strict=False))
    except csv.Error as exc:
        msg = f"line {reader.line_num}: {exc}"
        raise ValueError(msg) from None
    except UnicodeDecodeError as exc:
        msg = f"line {reader.line_num + 1} is not {encoding} text ({exc.reason})"
        raise ValueError(msg) from None


class CsvStream(BuilderStream):
    """A stream whose answers are CSV."""

    #: delimiter, quotechar, header, columns, skip_rows, encoding.
    csv_options: t.ClassVar[dict[str, t.Any]] = {}
    format_name = "CSV"

    @cached_property
    def record_caster(self) -> Caster:
        """Types the fields of a record by the schema (built once)."""
        return compile_record_caster(self.schema)

    def parse_body(self, data: bytes) -> t.Any:  # noqa: ANN401
        """The rows of a CSV answer, typed by the schema."""
        cast = self.record_caster
        return [cast(row) for row in read_csv(io.BytesIO(data), self.csv_options)]
