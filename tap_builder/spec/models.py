"""The connector spec as pydantic models: what a user writes, and nothing more.

Field-level rules live here; rules that span fields (variables, parents, schema
fields) live in :mod:`tap_builder.spec.checks`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import keyword
import math
import re
import typing as t

from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tap_builder.components import AUTHENTICATORS, PAGINATORS
from tap_builder.components.auth.model import AuthModel
from tap_builder.components.auth.none import NoAuth
from tap_builder.components.formats import Compression, CsvOptions, Download
from tap_builder.components.pagination.model import StopRules
from tap_builder.spec.errors import brief
from tap_builder.spec.fields import (
    MAX_RATE_PER_SECOND,
    MIN_RATE_PER_SECOND,
    Count,
    Model,
    NonEmpty,
    PositiveInt,
    Scalar,
    at_most,
)
from tap_builder.spec.graphql import GraphQL
from tap_builder.spec.jobs import AsyncJob

TAP_ID_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
STREAM_ID_PATTERN = r"^[a-z_][a-z0-9_]*$"
PARAMETER_NAME_PATTERN = r"^[a-z_][a-z0-9_]*$"
CONTEXT_KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

#: date_format names: Unix seconds, Unix milliseconds, ISO-8601 (UTC, ``Z``).
NAMED_DATE_FORMATS = ("timestamp", "timestamp_ms", "iso8601")

#: A PEP 440 public version: release, optional pre/post/dev parts (1.2.0, 2.0rc1).
VERSION_PATTERN = (
    r"^(?:[1-9][0-9]*!)?(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*"
    r"(?:(?:a|b|rc)(?:0|[1-9][0-9]*))?(?:\.post(?:0|[1-9][0-9]*))?"
    r"(?:\.dev(?:0|[1-9][0-9]*))?$"
)

#: Settings every generated tap has without declaring them.
BUILTIN_SETTINGS = (
    "api_url",
    "start_date",
    "request_timeout",
    "max_attempts",
    "backoff_seconds",
    "max_request_seconds",
    "max_response_mb",
    "max_retry_wait",
    "refresh_token_file",
    "max_concurrency",
    "parallel_streams",
)
#: Response formats the generated tap can decode.
RESPONSE_FORMATS = (
    "application/json",
    "application/x-ndjson",
    "application/jsonl",
    "text/csv",
    "application/xml",
)

#: Requests in flight at once: 1 (one at a time) to MAX_CONCURRENCY.
MAX_CONCURRENCY = 64
Concurrency = t.Annotated[
    PositiveInt,
    AfterValidator(at_most(MAX_CONCURRENCY, "requests in flight at once")),
]
#: Top-level streams synced at once, each in its own process.
MAX_PARALLEL_STREAMS = 32
ParallelStreams = t.Annotated[
    PositiveInt,
    AfterValidator(at_most(MAX_PARALLEL_STREAMS, "streams synced at once")),
]

# --------------------------------------------------------------------------- #
# Allowed hosts
# --------------------------------------------------------------------------- #

_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")
_HOST_EXAMPLE = "e.g. files.example.com, *.example.com or 10.0.0.5:8443"


def _port(entry: str, port: str | None) -> str:
    if port is None:
        return ""
    if not (port.isascii() and port.isdigit() and len(port) <= 5) or not (
        1 <= int(port) <= 65535
    ):
        msg = f"{brief(entry)} has an invalid port {brief(port)}; a port is 1 to 65535"
        raise ValueError(msg)
    return f":{int(port)}"


def _bracketed_host(entry: str, rest: str, wildcard: bool) -> str:
    close = rest.find("]")
    after = rest[close + 1 :] if close != -1 else ""
    try:
        address = ipaddress.IPv6Address(rest[1:close] if close != -1 else "")
    except ValueError:
        address = None
    if address is None or (after and not after.startswith(":")):
        msg = (
            f"{brief(entry)} is not an IPv6 address in brackets "
            "(e.g. [2001:db8::1]:8443)"
        )
        raise ValueError(msg)
    if wildcard:
        msg = f"{brief(entry)}: a wildcard (*.) goes before a domain, not an address"
        raise ValueError(msg)
    return f"[{address.compressed}]" + _port(entry, after[1:] if after else None)


def _named_host(entry: str, host: str, wildcard: bool) -> str:
    labels = host.split(".")
    if all(label.isascii() and label.isdigit() for label in labels):
        try:
            host = str(ipaddress.IPv4Address(host))
        except ValueError:
            msg = f"{brief(entry)} is not a valid IPv4 address"
            raise ValueError(msg) from None
        if wildcard:
            msg = (
                f"{brief(entry)}: a wildcard (*.) goes before a domain, not an address"
            )
            raise ValueError(msg)
        return host
    if not host.isascii():
        msg = f"{brief(entry)} is not ASCII; write the name in its IDNA form (xn--...)"
        raise ValueError(msg)
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        msg = (
            f"{brief(entry)} is not a valid host name: dot-separated labels of "
            f"letters, digits and '-' ({_HOST_EXAMPLE})"
        )
        raise ValueError(msg)
    if wildcard and len(labels) < 2:
        msg = (
            f"{brief(entry)} would allow every host under a top-level domain; name a "
            "domain (e.g. *.example.com)"
        )
        raise ValueError(msg)
    return host


def allowed_host(entry: str) -> str:
    """An ``allowed_hosts`` entry, checked and lowercased (``host[:port]``).

    A host name (optionally ``*.`` for its subdomains), an IPv4 address or an
    IPv6 address in brackets, each with an optional ``:port``.

    Raises:
        ValueError: with what is wrong and what would be valid.
    """
    if not entry:
        msg = f"must not be empty ({_HOST_EXAMPLE})"
        raise ValueError(msg)
    if any(char.isspace() for char in entry):
        msg = f"{brief(entry)} holds whitespace; give one host ({_HOST_EXAMPLE})"
        raise ValueError(msg)
    if "://" in entry:
        msg = f"{brief(entry)} is a URL; give only its host, without scheme and path"
        raise ValueError(msg)
    if "@" in entry:
        msg = f"{brief(entry)} holds user info (user@); give only the host"
        raise ValueError(msg)
    if any(char in entry for char in "/?#\\"):
        msg = f"{brief(entry)} has a path; give only the host (and :port)"
        raise ValueError(msg)
    text = entry.lower()
    wildcard = text.startswith("*.")
    rest = text[2:] if wildcard else text
    if "*" in rest:
        msg = (
            f"{brief(entry)}: a wildcard is '*.' at the start, for the subdomains of a "
            "domain (e.g. *.example.com)"
        )
        raise ValueError(msg)
    if rest.startswith("["):
        return ("*." if wildcard else "") + _bracketed_host(entry, rest, wildcard)
    if rest.count(":") > 1:
        msg = f"{brief(entry)}: an IPv6 address goes in brackets (e.g. [2001:db8::1])"
        raise ValueError(msg)
    host, colon, port = rest.partition(":")
    named = _named_host(entry, host, wildcard)
    return ("*." if wildcard else "") + named + _port(entry, port if colon else None)


AllowedHost = t.Annotated[str, AfterValidator(allowed_host)]


# --------------------------------------------------------------------------- #
# Authentication and pagination: the component registry's models
# --------------------------------------------------------------------------- #

if t.TYPE_CHECKING:
    Authentication = AuthModel
    Pagination = StopRules
else:
    Authentication = t.Annotated[
        t.Union[tuple(c.model for c in AUTHENTICATORS.values())],  # noqa: UP007
        Field(discriminator="type"),
    ]
    Pagination = t.Annotated[
        t.Union[tuple(c.model for c in PAGINATORS.values())],  # noqa: UP007
        Field(discriminator="type"),
    ]


# --------------------------------------------------------------------------- #
# Parameters
# --------------------------------------------------------------------------- #

ParameterType = t.Literal["string", "integer", "number", "boolean", "date-time", "list"]

#: Python types a parameter's default may have, by parameter type.
DEFAULT_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "date-time": (str,),
    "list": (),  # a list setting has no default
}


class Parameter(Model):
    """A config setting the tap's users fill in."""

    name: t.Annotated[str, StringConstraints(pattern=PARAMETER_NAME_PATTERN)] = Field(
        description="Config key."
    )
    label: str | None = Field(None, description="Display label (defaults from name).")
    description: str | None = Field(None, description="Help text.")
    type: ParameterType = Field("string", description="Setting type.")
    required: StrictBool = Field(
        True, description="Whether the setting must be supplied."
    )
    secret: StrictBool = Field(
        False, description="Never logged; marked secret in the schema."
    )
    default: Scalar = Field(None, description="Value used when the setting is not set.")

    @property
    def display_label(self) -> str:
        """The label, or one made from the name (``api_token`` -> ``Api Token``)."""
        return self.label or self.name.replace("_", " ").strip().title()

    @property
    def is_required(self) -> bool:
        """Required and without a default (a default means it need not be given)."""
        return self.required and self.default is None


# --------------------------------------------------------------------------- #
# Incremental
# --------------------------------------------------------------------------- #


class Incremental(Model):
    """Incremental sync on a replication key, filtered by a request parameter."""

    location: t.Literal["query", "header"] = Field(
        "query", description="Where the filter goes."
    )
    replication_key: NonEmpty = Field(description="Record field holding the cursor.")
    param_name: NonEmpty | None = Field(
        None, description="The API's filter parameter (none: client_filter only)."
    )
    date_format: NonEmpty = Field(
        "%Y-%m-%dT%H:%M:%SZ",
        description="timestamp (Unix seconds) or a strftime format.",
    )
    sorted: StrictBool = Field(
        False,
        description="The API returns records in replication-key order, so the "
        "tap can save state as it goes (resumable after a failure).",
    )
    state_every: Count | None = Field(
        None,
        description="With sorted: records between STATE messages (default 100).",
    )
    lookback: NonEmpty | None = Field(
        None,
        description="ISO-8601 duration (e.g. P1D, PT6H) subtracted from the "
        "bookmark before it is sent, to catch late updates.",
    )
    replication_key_format: NonEmpty | None = Field(
        None,
        description="strptime format of replication-key strings that are not "
        "ISO-8601; they are emitted as ISO-8601.",
    )
    end_param: NonEmpty | None = Field(
        None, description="With window: the API's end-of-range parameter."
    )
    window: NonEmpty | None = Field(
        None,
        description="ISO-8601 duration: request date slices this long, from the "
        "bookmark (or start_date) to now; each slice's bookmark is saved as it ends.",
    )
    state: t.Literal["per_parent", "global"] = Field(
        "per_parent",
        description="On a child stream: one bookmark per parent record, or one "
        "for the whole stream (bounded state).",
    )
    client_filter: StrictBool = Field(
        False,
        description="Drop records older than the bookmark in the tap (for APIs "
        "that do not filter).",
    )
    replication_key_field: (
        t.Annotated[str, StringConstraints(pattern=PARAMETER_NAME_PATTERN)] | None
    ) = Field(
        None,
        description="With a nested replication_key (a.b or $.a.b): the top-level "
        "field the tap copies its value to (default: the path's last part).",
    )
    sequence: StrictBool = Field(
        False,
        description="The replication key is an integer that only grows (an id, a "
        "version), not a time: the filter sends the bookmark as it is.",
    )
    send_next: StrictBool = Field(
        False,
        description="With sequence: send the bookmark plus one (for filters that "
        "include their value, >=).",
    )
    initial_path: str | None = Field(
        None,
        description="Path of the first sync (no bookmark yet), e.g. a bulk export; "
        "later syncs use path with the filter.",
    )
    initial_records_selector: NonEmpty | None = Field(
        None,
        description="With initial_path: JSONPath to its records (default: "
        "records_selector).",
    )
    max_pages_per_query: Count | None = Field(
        None,
        description="With sorted and pagination: after this many pages, start a "
        "new query filtered from the last value seen (APIs that cap page depth).",
    )

    @property
    def key_path(self) -> tuple[str, ...] | None:
        """The parts of a nested replication key (None: a top-level field)."""
        text = self.replication_key
        if text.startswith("$"):
            text = text.removeprefix("$").removeprefix(".")
        elif "." not in text:
            return None
        return tuple(text.split("."))

    @property
    def key_field(self) -> str:
        """The top-level record field holding the replication key."""
        path = self.key_path
        if path is None:
            return self.replication_key
        return self.replication_key_field or path[-1]

    @field_validator("date_format")
    @classmethod
    def _date_format_known(cls, value: str) -> str:
        if value in NAMED_DATE_FORMATS:
            return value
        sample = "2001-02-03 04:05:06"
        try:
            rendered = dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=dt.UTC).strftime(value)
        except ValueError:
            rendered = value
        if "%" not in value or rendered == value:
            msg = (
                f"{value!r} is neither one of {', '.join(NAMED_DATE_FORMATS)} nor a "
                f"strftime format (e.g. '%Y-%m-%d %H:%M:%S' gives {sample!r})"
            )
            raise ValueError(msg)
        return value


# --------------------------------------------------------------------------- #
# Streams
# --------------------------------------------------------------------------- #


ConditionOp = t.Literal[
    "==", "!=", "<", "<=", ">", ">=", "in", "not_in", "exists", "missing"
]


class Condition(Model):
    """``field op value``: keep records where it holds."""

    field: NonEmpty = Field(description="Record field, dotted for nested ones.")
    op: ConditionOp = Field("==", description="Comparison.")
    value: Scalar | list[Scalar] = Field(None, description="What to compare with.")


class ErrorRule(Model):
    """An HTTP status (optionally with a body value) and what to do about it."""

    status: StrictInt | tuple[StrictInt, ...] = Field(description="Status code(s).")
    body_path: NonEmpty | None = Field(
        None, description="JSONPath into the error body that must match too."
    )
    body_value: Scalar = Field(None, description="The value body_path must hold.")
    action: t.Literal["retry", "ignore", "fail"] = Field(
        description="retry (transient), ignore (no records, go on), fail (stop)."
    )
    message: str | None = Field(None, description="Shown when the rule applies.")

    @property
    def statuses(self) -> tuple[int, ...]:
        """The status codes, as a tuple."""
        return (self.status,) if isinstance(self.status, int) else self.status


class RateLimit(Model):
    """A request budget shared by every stream of the tap."""

    requests_per_second: StrictFloat | None = Field(
        None, description="At least 1/3600 (one request an hour), at most 1000."
    )
    requests_per_minute: StrictFloat | None = Field(
        None, description="At least 1/60 (one request an hour), at most 60000."
    )

    @field_validator("requests_per_second", "requests_per_minute")
    @classmethod
    def _rate_in_range(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None:
            return None
        per = 60 if info.field_name == "requests_per_minute" else 1
        low, high = MIN_RATE_PER_SECOND * per, MAX_RATE_PER_SECOND * per
        if not (math.isfinite(value) and low <= value <= high):
            unit = "minute" if per == 60 else "second"
            msg = (
                f"{value:g} is out of range: give at least one request an hour "
                f"({low:.6g} per {unit}) and at most {high:g} per {unit}"
            )
            raise ValueError(msg)
        return value

    @property
    def min_interval(self) -> float:
        """Seconds between two requests."""
        per_second = [
            rate
            for rate in (
                self.requests_per_second,
                (self.requests_per_minute or 0) / 60 or None,
            )
            if rate
        ]
        return 1 / min(per_second) if per_second else 0.0


def _not_keyword(name: str) -> str:
    if keyword.iskeyword(name):
        msg = f"{name!r} is a Python keyword; name a class in custom.py"
        raise ValueError(msg)
    return name


#: A Python class name in the tap's custom.py.
PythonName = t.Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"),
    AfterValidator(_not_keyword),
]


class StreamCustom(Model):
    """Code of the stream that lives in the tap's own custom.py."""

    paginator: PythonName | None = Field(
        None,
        description="Class in custom.py that pages this stream, called with the "
        "stream (instead of pagination).",
    )


class SpecCustom(Model):
    """Code of the tap that lives in its own custom.py."""

    authenticator: PythonName | None = Field(
        None,
        description="Class in custom.py that authenticates every request, called "
        "with the stream (instead of authentication).",
    )


class ForEach(Model):
    """A stream template: one stream per item of a config list or API answer."""

    config: (
        t.Annotated[str, StringConstraints(pattern=PARAMETER_NAME_PATTERN)] | None
    ) = Field(None, description="A list parameter: one stream per item.")
    path: str | None = Field(
        None,
        description="A discovery endpoint (GET, same base URL and authentication): "
        "one stream per record.",
    )
    records_selector: NonEmpty = Field(
        "$[*]", description="With path: JSONPath to the items in its answer."
    )
    stream_id: NonEmpty = Field(
        description="Each stream's id, from the item: e.g. report_{item} or "
        "{item.name}; made a valid stream id (lowercase, _ for other characters)."
    )
    max_items: Count = Field(
        100, description="At most this many streams (more items is an error)."
    )
    infer_schema: StrictBool = Field(
        False,
        description="At discovery, request each stream's first records and add "
        "the fields they hold to the declared schema.",
    )
    sample_records: Count = Field(
        20, description="With infer_schema: records read per stream (bounded)."
    )


class Stream(Model):
    """One endpoint, synced as one Singer stream."""

    name: NonEmpty = Field(description="Display name.")
    id: t.Annotated[str, StringConstraints(pattern=STREAM_ID_PATTERN)] = Field(
        description="Singer stream name (snake_case)."
    )
    path: str = Field(description="Endpoint path appended to the base URL.")
    primary_key: tuple[NonEmpty, ...] = Field((), description="Primary key field(s).")
    method: t.Literal["GET", "POST"] = Field("GET", description="HTTP method.")
    response_format: str = Field(
        "application/json",
        description="Response MIME type (with download: the file's).",
    )
    csv: CsvOptions | None = Field(
        None, description="With response_format text/csv: how rows are read."
    )
    compression: Compression = Field(
        "none",
        description="The body (or downloaded file) is a gzip or zip file. "
        "Content-Encoding: gzip needs nothing.",
    )
    download: Download | None = Field(
        None,
        description="The JSON answer links to CSV or JSON Lines files that "
        "hold the records; they are streamed.",
    )
    query_params: dict[NonEmpty, Scalar] = Field(
        default_factory=dict,
        description="Query parameters (values may hold variables).",
    )
    headers: dict[NonEmpty, Scalar] = Field(
        default_factory=dict, description="Extra request headers."
    )
    body: t.Any = Field(None, description="JSON body for POST.")
    pagination: Pagination | None = None
    incremental: Incremental | None = None
    records_selector: NonEmpty = Field("$[*]", description="JSONPath to the records.")
    json_schema: dict[str, t.Any] | None = Field(
        None, alias="schema", description="Inline JSON Schema of a record."
    )
    schema_file: NonEmpty | None = Field(
        None, description="JSON Schema file, relative to the spec file."
    )
    child_context: dict[
        t.Annotated[str, StringConstraints(pattern=CONTEXT_KEY_PATTERN)], NonEmpty
    ] = Field(
        default_factory=dict,
        description="Context key -> parent record field (name or $ JSONPath).",
    )
    parent_stream: str | None = Field(None, description="Id of the parent stream.")
    sync_children: t.Literal["all", "changed"] = Field(
        "all",
        description="On an incremental parent: sync children for every record, "
        "or only for records new or changed since the last run.",
    )
    record_filter: tuple[Condition, ...] = Field(
        (), description="Keep only records that meet every condition."
    )
    add_fields: dict[NonEmpty, Scalar] = Field(
        default_factory=dict,
        description="Fields added to every record (values may hold variables).",
    )
    remove_fields: tuple[NonEmpty, ...] = Field(
        (), description="Fields removed from every record (and the schema)."
    )
    error_handling: tuple[ErrorRule, ...] = Field(
        (), description="What to do with given HTTP statuses, checked in order."
    )
    custom: StreamCustom | None = Field(
        None, description="Classes from the tap's custom.py this stream uses."
    )
    concurrency: Concurrency | None = Field(
        None,
        description="Requests of this stream in flight at once (page prefetch, "
        "children of different parents); default max_concurrency, 1: one at a time.",
    )
    graphql: GraphQL | None = Field(
        None, description="A GraphQL query POSTed to path (see docs/spec.md)."
    )
    async_job: AsyncJob | None = Field(
        None,
        description="The request creates a report job: poll it, then read its "
        "files (see docs/spec.md).",
    )
    for_each: ForEach | None = Field(
        None,
        description="Dynamic streams: this stream is a template, instantiated "
        "per item of a config list or of a discovery endpoint's answer.",
    )

    @model_validator(mode="after")
    def _one_paginator(self) -> Stream:
        if self.pagination is not None and self.custom and self.custom.paginator:
            msg = (
                "give pagination or custom.paginator, not both (the custom class "
                "replaces the spec's pagination)"
            )
            raise ValueError(msg)
        return self

    @field_validator("record_filter", mode="before")
    @classmethod
    def _one_condition(cls, value: object) -> object:
        return [value] if isinstance(value, dict) else value

    @field_validator("primary_key", mode="before")
    @classmethod
    def _primary_key_list(cls, value: object) -> object:
        if value is None or value == "":
            return ()
        return (value,) if isinstance(value, str) else value

    @field_validator("method", mode="before")
    @classmethod
    def _method_upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("child_context", mode="before")
    @classmethod
    def _context_list(cls, value: object) -> object:
        if value is None:
            return {}
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return {item: item for item in value}
        return value

    @field_validator("response_format")
    @classmethod
    def _format_known(cls, value: str) -> str:
        if value not in RESPONSE_FORMATS:
            msg = (
                f"{value!r} is not supported. Use one of: {', '.join(RESPONSE_FORMATS)}"
            )
            raise ValueError(msg)
        return value


#: The spec format's version: specs without ``spec_version`` are version 1.
SPEC_VERSION: t.Final = 2


class Spec(Model):
    """A whole connector: basic details, authentication, parameters, streams."""

    spec_version: t.Literal[2] = Field(
        SPEC_VERSION,
        description="Version of the spec format (absent: 1); tap-builder migrate "
        "upgrades older specs.",
    )
    name: NonEmpty = Field(description="Display name, e.g. Aircall.")
    tap_id: t.Annotated[str, StringConstraints(pattern=TAP_ID_PATTERN)] = Field(
        description="Lowercase hyphenated id; the tap is tap-<tap_id>."
    )
    domain: str | None = Field(None, description="Product domain.")
    logo: str | None = Field(None, description="Logo URL or path.")
    description: str | None = Field(None, description="One-paragraph description.")
    version: str = Field(
        "0.1.0",
        description="The generated tap's version (PEP 440), e.g. 1.2.0.",
        pattern=VERSION_PATTERN,
    )
    base_url: NonEmpty = Field(description="API base URL; may hold {config.NAME}.")
    authentication: Authentication = Field(
        default_factory=lambda: NoAuth(type="none"),
        description="How requests authenticate.",
    )
    parameters: tuple[Parameter, ...] = Field((), description="Config settings.")
    streams: tuple[Stream, ...] = Field(description="The streams (at least one).")
    rate_limit: RateLimit | None = Field(
        None, description="Requests per second/minute, shared by all streams."
    )
    allowed_hosts: list[AllowedHost] = Field(
        default_factory=list,
        description="Hosts, besides the API's own, that next-page URLs and "
        "redirects may lead to; requests to them carry no credentials",
    )
    custom: SpecCustom | None = Field(
        None, description="Classes from the tap's custom.py the tap uses."
    )
    max_concurrency: Concurrency | None = Field(
        None,
        description="Requests in flight at once for the whole tap (1: one at a "
        "time, as without the key); the max_concurrency setting lowers it.",
    )
    parallel_streams: ParallelStreams | None = Field(
        None,
        description="Selected top-level streams (each with its child streams) "
        "synced at once, each in its own process (1: one after another, as "
        "without the key); the parallel_streams setting lowers it.",
    )

    @model_validator(mode="after")
    def _one_authenticator(self) -> Spec:
        custom = self.custom.authenticator if self.custom else None
        if custom and not isinstance(self.authentication, NoAuth):
            msg = (
                "give authentication or custom.authenticator, not both (the custom "
                "class replaces the spec's authentication)"
            )
            raise ValueError(msg)
        return self

    @field_validator("authentication", mode="before")
    @classmethod
    def _missing_auth_is_none(cls, value: object) -> object:
        return {"type": "none"} if value is None else value

    @field_validator("parameters", mode="before")
    @classmethod
    def _no_parameters(cls, value: object) -> object:
        return () if value is None else value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _no_allowed_hosts(cls, value: object) -> object:
        return [] if value is None else value

    @property
    def package(self) -> str:
        """Import package of the generated tap."""
        return "tap_" + self.tap_id.replace("-", "_")

    @property
    def distribution(self) -> str:
        """Distribution and executable name of the generated tap."""
        return f"tap-{self.tap_id}"

    @property
    def has_incremental(self) -> bool:
        """Whether any stream syncs incrementally (and so start_date exists)."""
        return any(stream.incremental for stream in self.streams)

    def concurrency_of(self, stream: Stream) -> int:
        """Requests of ``stream`` in flight at once (1: one at a time)."""
        return stream.concurrency or self.max_concurrency or 1

    @property
    def uses_concurrency(self) -> bool:
        """Whether any stream fetches more than one request at once."""
        return any(self.concurrency_of(s) > 1 for s in self.streams)

    @property
    def pool_size(self) -> int:
        """Requests in flight at once for the whole tap."""
        return self.max_concurrency or max(
            (self.concurrency_of(s) for s in self.streams), default=1
        )

    def stream(self, stream_id: str) -> Stream | None:
        """The stream with this id, if any."""
        return next((s for s in self.streams if s.id == stream_id), None)
