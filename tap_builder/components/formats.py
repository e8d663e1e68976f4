"""Response formats beyond JSON: CSV, XML, compressed bodies and file downloads.

One unit, like an authentication or pagination component: the spec blocks'
models (``csv``, ``download``), their cross-field checks, and which run-time
modules a stream that uses them needs. The stream options that carry them into
the generated code are in :mod:`tap_builder.components.options`.
"""

from __future__ import annotations

import codecs
import typing as t

from pydantic import Field, StrictBool

from tap_builder.spec.fields import Model, NonEmpty

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_builder.spec.fields import Found, Loc
    from tap_builder.spec.models import Stream

CSV = "text/csv"
XML = "application/xml"
JSON_LINES = ("application/x-ndjson", "application/jsonl")
#: Formats a downloaded file may have (read as a stream, line by line).
DOWNLOAD_FORMATS = (CSV, *JSON_LINES)
Compression = t.Literal["none", "gzip", "zip"]
COMPRESSIONS: tuple[str, ...] = t.get_args(Compression)
_DEFAULT_SELECTOR = "$[*]"
_NOT_SEPARATORS = "\r\n"

#: Run-time modules each format's module imports (copied along with it).
FORMAT_NEEDS: dict[str, tuple[str, ...]] = {
    "csvio": ("typedtext",),
    "xmlio": ("typedtext",),
    "downloads": ("csvio", "typedtext", "compression"),
    "compression": (),
}

#: Packages a generated tap depends on when it holds a run-time module.
RUNTIME_DEPENDENCIES: dict[str, tuple[str, ...]] = {"xmlio": ("defusedxml>=0.7.1",)}


def extra_dependencies(runtime_mixins: t.Iterable[str]) -> list[str]:
    """The packages the tap's format modules need, sorted."""
    return sorted(
        {
            dep
            for module in runtime_mixins
            for dep in RUNTIME_DEPENDENCIES.get(module, ())
        }
    )


class CsvOptions(Model):
    """How a CSV body or file is read."""

    delimiter: NonEmpty = Field(",", description="One character between fields.")
    quotechar: NonEmpty = Field('"', description="One character that quotes fields.")
    header: StrictBool = Field(
        True, description="The first row names the columns (else give columns)."
    )
    columns: tuple[NonEmpty, ...] = Field(
        (),
        description="Column names, in order: without a header row, or to "
        "rename the header's.",
    )
    skip_rows: t.Annotated[int, Field(ge=0, le=1000)] = Field(
        0, description="Rows before the header (or the data) to skip, e.g. a title."
    )
    encoding: NonEmpty = Field("utf-8", description="Text encoding (a BOM is ignored).")

    def runtime_options(self) -> dict[str, t.Any]:
        """The options as the run-time reader takes them."""
        return {
            "delimiter": self.delimiter,
            "quotechar": self.quotechar,
            "header": self.header,
            "columns": list(self.columns),
            "skip_rows": self.skip_rows,
            "encoding": self.encoding,
        }


class Download(Model):
    """The JSON answer links to a file (or files) that hold the records."""

    url: NonEmpty = Field(
        description="JSONPath to the file's URL in the JSON answer; every match "
        "is one file, read in order (absolute, or relative to the request)."
    )


def _one_character(value: str, what: str) -> str | None:
    if len(value) != 1 or value in _NOT_SEPARATORS:
        return f"{value!r} is not one character; the {what} is a single character"
    return None


def _csv_problems(stream: Stream, loc: Loc) -> Iterator[Found]:
    options = stream.csv
    if options is None:
        return
    where = (*loc, "csv")
    if stream.response_format != CSV:
        yield where, f"csv options need response_format: {CSV}"
    for key in ("delimiter", "quotechar"):
        if problem := _one_character(getattr(options, key), key):
            yield (*where, key), problem
    if options.delimiter == options.quotechar:
        yield (
            (*where, "quotechar"),
            "the quote character must differ from the delimiter",
        )
    if not options.header and not options.columns:
        yield (*where, "columns"), "without a header row, give the column names"
    if len(set(options.columns)) != len(options.columns):
        yield (*where, "columns"), "column names must be unique"
    try:
        codecs.lookup(options.encoding)
    except LookupError:
        yield (*where, "encoding"), f"{options.encoding!r} is not a known text encoding"


def format_problems(stream: Stream, loc: Loc) -> Iterator[Found]:
    """Cross-field rules of a stream's format, compression and download."""
    yield from _csv_problems(stream, loc)
    download = stream.download
    if download is not None:
        if stream.response_format not in DOWNLOAD_FORMATS:
            yield (
                (*loc, "download"),
                "a download is a CSV or JSON Lines file: set response_format to "
                f"one of {', '.join(DOWNLOAD_FORMATS)} (the file's format)",
            )
        if not download.url.startswith("$"):
            yield (
                (*loc, "download", "url"),
                f"{download.url!r} is not a JSONPath (e.g. '$.file_url')",
            )
        if stream.records_selector != _DEFAULT_SELECTOR:
            yield (
                (*loc, "records_selector"),
                "the records of a download are the file's rows or lines; "
                "leave records_selector out",
            )
    elif stream.response_format == CSV and stream.records_selector != _DEFAULT_SELECTOR:
        yield (
            (*loc, "records_selector"),
            "the records of a CSV answer are its rows; leave records_selector out",
        )


def uses_download(stream: Stream) -> bool:
    """Whether the stream's records come from linked files."""
    return stream.download is not None
