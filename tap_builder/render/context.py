"""Build the template context: every decision made here, templates only format.

Values from the spec reach templates only as plain data, rendered there with the
``py``/``toml``/``docstring`` filters; every piece of code is written by a
template or a macro in ``templates/tap/macros/``: the component registry
(:mod:`tap_builder.components`) names the macro of each authentication and
pagination type, and the stream options table (``components/options.py``) the
option macros.
"""

from __future__ import annotations

import copy
import typing as t
from dataclasses import dataclass, field
from urllib.parse import quote

from tap_builder.components import (
    AUTHENTICATORS,
    PAGINATORS,
    STOP_WHEN,
    Component,
)
from tap_builder.components.formats import extra_dependencies
from tap_builder.components.options import MIXINS, mixins, used_options
from tap_builder.render.naming import NameAllocator, camel_case
from tap_builder.runtime.variables import variables_in
from tap_builder.spec.checks import is_datetime, is_number, nested_property
from tap_builder.spec.models import (
    Incremental,
    Pagination,
    Parameter,
    Spec,
    Stream,
)

if t.TYPE_CHECKING:
    from tap_builder.spec.validation import Connector

#: Records between STATE messages of sorted streams, unless the spec says.
DEFAULT_STATE_EVERY = 100

#: singer-sdk range the generated taps pin (compatible releases).
SDK_VERSION = "~=0.54.9"
SDK_REQUIREMENT = f"singer-sdk[msgspec]{SDK_VERSION}"
SDK_TEST_REQUIREMENT = f"singer-sdk[testing]{SDK_VERSION}"


@dataclass(frozen=True)
class Setting:
    """One config setting as the tap's schema, README and meltano.yml show it."""

    name: str
    th_type: str
    meltano_kind: str
    label: str
    description: str
    required: bool
    secret: bool
    default: object
    kind: str


@dataclass(frozen=True)
class Placement:
    """A value the request carries beyond the spec's static parts.

    Written by ``templates/tap/macros/request.jinja``: ``value`` is ``token``
    (the paginator's), ``limit`` (``argument``: the page size), ``filter`` or
    ``window_end`` (``argument``: the date format).
    """

    name: str
    value: t.Literal["token", "limit", "filter", "window_end"]
    argument: object = None


@dataclass(frozen=True)
class PaginatorView:
    """How a stream builds its paginator (templates/tap/macros/pagination.jinja)."""

    #: The paginator (its macro writes the code).
    component: Component
    #: The spec's pagination values, by field name.
    values: dict[str, t.Any]
    #: ``StopWhen`` around the paginator when the spec declares stop rules.
    wrapper: Component | None = None

    @property
    def components(self) -> tuple[Component, ...]:
        """Every component the code names."""
        return (
            (self.component,)
            if self.wrapper is None
            else (self.wrapper, self.component)
        )

    @property
    def return_type(self) -> str:
        """The class ``get_new_paginator`` returns."""
        return self.components[0].class_name

    @property
    def also_uses(self) -> tuple[str, ...]:
        """Further classes the code names (the paginator ``StopWhen`` wraps)."""
        return tuple(c.class_name for c in self.components[1:])


@dataclass
class StreamView:
    """Everything the stream template needs for one stream."""

    id: str
    class_name: str
    display_name: str
    path: str
    primary_keys: tuple[str, ...]
    replication_key: str | None
    records_selector: str
    method: str
    response_format: str
    unix_timestamp_fields: tuple[str, ...]
    parent_class: str | None
    flat_state: bool
    child_context: dict[str, str]
    body: object
    paginator: PaginatorView | None
    static_query: dict[str, object]
    static_headers: dict[str, object]
    query_assignments: list[Placement] = field(default_factory=list)
    header_assignments: list[Placement] = field(default_factory=list)
    body_assignments: list[Placement] = field(default_factory=list)
    #: next_url / link_header pagination: the token is the next request's URL.
    follows_next_url: bool = False
    schema: dict[str, t.Any] = field(default_factory=dict)
    #: Records between STATE messages for sorted streams (None: unsorted).
    state_every: int | None = None
    #: Class attributes for the stream's options (components/options.py), as
    #: (attribute, value) pairs; only the options the spec uses.
    options: list[tuple[str, object]] = field(default_factory=list)
    #: Run-time mixin classes the stream's options need, in MRO order.
    mixins: list[str] = field(default_factory=list)
    #: A template of dynamic streams (for_each): the tap makes its instances.
    dynamic: bool = False
    #: For the README: how a template's streams are named and found.
    dynamic_names: str = ""
    dynamic_source: str = ""

    @property
    def needs_url_params(self) -> bool:
        """Whether ``get_url_params`` is overridden."""
        return bool(self.static_query or self.query_assignments)

    @property
    def needs_http_request(self) -> bool:
        """Whether ``get_http_request`` is overridden."""
        return bool(
            self.static_headers or self.header_assignments or self.follows_next_url
        )

    @property
    def needs_payload(self) -> bool:
        """Whether ``prepare_request_payload`` is overridden."""
        return self.body is not None or bool(self.body_assignments)


@dataclass(frozen=True)
class AuthView:
    """The base stream's ``authenticator`` (templates/tap/macros/auth.jinja)."""

    #: The authenticator (its macro writes the code).
    component: Component
    #: The spec's authentication values, by field name.
    values: dict[str, t.Any]
    #: Config settings the values use.
    settings: tuple[str, ...]
    #: Query parameters that carry credentials.
    secret_query_params: tuple[str, ...] = ()
    #: Request headers that carry credentials, besides ``Authorization``.
    credential_headers: tuple[str, ...] = ()


# --------------------------------------------------------------------------- #
# Settings
# --------------------------------------------------------------------------- #

_TH_TYPES = {
    "string": "th.StringType",
    "integer": "th.IntegerType",
    "number": "th.NumberType",
    "boolean": "th.BooleanType",
    "date-time": "th.DateTimeType",
    "list": "th.ArrayType",
}
_MELTANO_KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "date-time": "date_iso8601",
    "list": "array",
}


def _setting(parameter: Parameter) -> Setting:
    th_type = _TH_TYPES[parameter.type]
    if parameter.type == "list":  # strings or objects: the items of dynamic streams
        th_type += "(th.AnyType()" + (
            ", nullable=False)" if parameter.is_required else ")"
        )
    elif parameter.is_required:
        th_type += "(nullable=False)"
    return Setting(
        name=parameter.name,
        th_type=th_type,
        meltano_kind=_MELTANO_KINDS[parameter.type],
        label=parameter.display_label,
        description=parameter.description or "",
        required=parameter.is_required,
        secret=parameter.secret,
        default=parameter.default,
        kind=parameter.type,
    )


def _retry_settings() -> list[Setting]:
    """Built-in settings that tune how requests are retried."""
    rows = (
        ("request_timeout", "th.NumberType", "decimal", "Request Timeout", 300,
         "Seconds to wait for each answer before retrying it."),
        ("max_attempts", "th.IntegerType", "integer", "Max Attempts", 5,
         "Attempts per request (429, 5xx, unreadable answers, connection "
         "errors, timeouts) before the sync fails."),
        ("backoff_seconds", "th.NumberType", "decimal", "Backoff Seconds", 1,
         "First wait before a retry; it doubles (with jitter) up to 60 s. "
         "A Retry-After header from the API wins."),
        ("max_retry_wait", "th.NumberType", "decimal", "Max Retry Wait", 600,
         "Longest wait in seconds a Retry-After or rate-limit reset header may ask "
         "for; a longer one stops the sync with a clear error instead of sleeping."),
        ("max_response_mb", "th.NumberType", "decimal", "Max Response MB", 256,
         "Largest answer (decompressed) in MB; reading stops with a clear error "
         "beyond it."),
        ("max_request_seconds", "th.NumberType", "decimal", "Max Request Seconds",
         900, "Seconds one request may take in all, however slowly the answer "
         "arrives (request_timeout bounds each wait for data)."),
    )  # fmt: skip
    return [
        Setting(
            name=name,
            th_type=th_type,
            meltano_kind=kind,
            label=label,
            description=description,
            required=False,
            secret=False,
            default=default,
            kind="number" if kind == "decimal" else "integer",
        )
        for name, th_type, kind, label, default, description in rows
    ]


def settings(spec: Spec) -> list[Setting]:
    """Declared parameters, then the built-in ``api_url`` and ``start_date``."""
    found = [_setting(p) for p in spec.parameters]
    found.append(
        Setting(
            name="api_url",
            th_type="th.StringType",
            meltano_kind="string",
            label="API URL",
            description=(
                f"Replaces the base URL {spec.base_url}; may hold "
                "{config.NAME} variables. For proxies, sandboxes and tests."
            ),
            required=False,
            secret=False,
            default=None,
            kind="string",
        )
    )
    found += _retry_settings()
    if spec.uses_concurrency:
        found.append(
            Setting(
                name="max_concurrency",
                th_type="th.IntegerType",
                meltano_kind="integer",
                label="Max Concurrency",
                description=(
                    "Requests in flight at once, at most "
                    f"{spec.pool_size} (the spec's); 1: one request at a time."
                ),
                required=False,
                secret=False,
                default=None,
                kind="integer",
            )
        )
    if (spec.parallel_streams or 1) > 1:
        found.append(
            Setting(
                name="parallel_streams",
                th_type="th.IntegerType",
                meltano_kind="integer",
                label="Parallel Streams",
                description=(
                    "Top-level streams synced at once, each in its own process, at "
                    f"most {spec.parallel_streams} (the spec's); 1: one after another."
                ),
                required=False,
                secret=False,
                default=None,
                kind="integer",
            )
        )
    auth = spec.authentication
    if "refresh_token_file" in AUTHENTICATORS[auth.type].settings(auth):
        found.append(
            Setting(
                name="refresh_token_file",
                th_type="th.StringType",
                meltano_kind="string",
                label="Refresh Token File",
                description=(
                    "A JSON file that keeps the newest OAuth2 refresh token: read at "
                    "start (it wins over the configured one) and rewritten whenever "
                    "the API rotates the token."
                ),
                required=False,
                secret=False,
                default=None,
                kind="string",
            )
        )
    if spec.has_incremental:
        found.append(
            Setting(
                name="start_date",
                th_type="th.DateTimeType",
                meltano_kind="date_iso8601",
                label="Start Date",
                description=(
                    "ISO-8601 date-time: the lower bound of the first sync of "
                    "incremental streams."
                ),
                required=False,
                secret=False,
                default=None,
                kind="date-time",
            )
        )
    return found


# --------------------------------------------------------------------------- #
# Authentication
# --------------------------------------------------------------------------- #


def auth_view(spec: Spec) -> AuthView:
    """The authenticator for the spec's ``authentication`` block."""
    auth = spec.authentication
    used = tuple(
        dict.fromkeys(
            v.name
            for v in variables_in(auth.model_dump(exclude={"type"}))
            if v.from_config
        )
    )
    component = AUTHENTICATORS[auth.type]
    return AuthView(
        component=component,
        values=dict(auth),
        settings=used,
        secret_query_params=auth.secret_query_params,
        credential_headers=auth.credential_headers,
    )


# --------------------------------------------------------------------------- #
# Pagination
# --------------------------------------------------------------------------- #


def paginator_view(pagination: Pagination, view: StreamView) -> PaginatorView:
    """The stream's paginator; places its token (and page size) in the request."""
    component = PAGINATORS[pagination.type]
    values = dict(pagination)
    if component.token_in_stream:
        pass  # the stream's mixin places it (a GraphQL variable)
    elif component.param_field is None:
        view.follows_next_url = True
    else:
        _place_token(view, values["location"], values[component.param_field])
    if values.get("limit_param") is not None:
        _place_limit(view, values["location"], values["limit_param"], values["limit"])
    chosen: Component = component
    if component.variant and values.get(component.variant[0]) is not None:
        chosen = component.variant[1]
    wrapper = STOP_WHEN if pagination.has_stop_rules else None
    return PaginatorView(chosen, values, wrapper)


def _place_token(view: StreamView, location: str, name: str) -> None:
    _target(view, location).append(Placement(name, "token"))


def _place_limit(view: StreamView, location: str, name: str, limit: object) -> None:
    """The page size: a body field, or a fixed query parameter or header."""
    if location == "body":
        view.body_assignments.append(Placement(name, "limit", limit))
    elif location == "query":
        view.static_query[name] = limit
    else:
        view.static_headers[name] = limit


def _target(view: StreamView, location: str) -> list[Placement]:
    if location == "query":
        return view.query_assignments
    if location == "body":
        return view.body_assignments
    return view.header_assignments


# --------------------------------------------------------------------------- #
# Streams
# --------------------------------------------------------------------------- #


def _child_schema(
    stream: Stream,
    schema: dict[str, t.Any],
    parent: Stream,
    parent_schema: dict[str, t.Any],
) -> dict[str, t.Any]:
    """The child's schema plus the context keys its records will carry."""
    result = copy.deepcopy(schema)
    properties = result.setdefault("properties", {})
    for key, source in parent.child_context.items():
        if key not in properties:
            properties[key] = _field_schema(parent_schema, source)
    return result


def _field_schema(schema: dict[str, t.Any], source: str) -> dict[str, t.Any]:
    """The schema of a parent field named plainly or by a simple ``$.a.b`` path."""
    parts = (
        source.removeprefix("$").strip(".").split(".")
        if source.startswith("$")
        else [source]
    )
    node: dict[str, t.Any] = schema
    for part in parts:
        child = node.get("properties", {}).get(part)
        if not isinstance(child, dict):
            return {}
        node = child
    return copy.deepcopy(node)


def stream_views(connector: Connector, names: NameAllocator) -> list[StreamView]:
    """One view per stream, in spec order."""
    spec = connector.spec
    class_names = {s.id: names.take(camel_case(s.id) + "Stream") for s in spec.streams}
    return [_stream_view(connector, s, class_names) for s in spec.streams]


def _stream_view(
    connector: Connector, stream: Stream, class_names: dict[str, str]
) -> StreamView:
    spec = connector.spec
    schema = connector.schemas[stream.id]
    parent = spec.stream(stream.parent_stream) if stream.parent_stream else None
    if parent is not None:
        schema = _child_schema(stream, schema, parent, connector.schemas[parent.id])
    incremental = stream.incremental
    replication_key = incremental.key_field if incremental else None
    if incremental is not None and incremental.key_path is not None:
        schema = _with_key_field(schema, incremental)
    unix_fields: tuple[str, ...] = ()
    if (
        replication_key
        and is_datetime(schema["properties"][replication_key])
        and not is_number(schema["properties"][replication_key])
    ):
        unix_fields = (replication_key,)
    view = StreamView(
        id=stream.id,
        class_name=class_names[stream.id],
        display_name=stream.name,
        path=stream.path,
        primary_keys=stream.primary_key,
        replication_key=replication_key,
        records_selector=stream.records_selector,
        method="POST" if stream.graphql else stream.method,
        response_format=stream.response_format,
        unix_timestamp_fields=unix_fields,
        parent_class=class_names[parent.id] if parent else None,
        flat_state=parent is not None
        and (incremental is None or incremental.state == "global"),
        child_context=dict(stream.child_context),
        body=stream.body,
        paginator=None,
        static_query=dict(stream.query_params),
        static_headers=dict(stream.headers),
        schema=schema,
    )
    if stream.pagination is not None:
        view.paginator = paginator_view(stream.pagination, view)
    if incremental is not None and incremental.sorted:
        view.state_every = incremental.state_every or DEFAULT_STATE_EVERY
    view.options = used_options(stream)
    if stream.for_each is not None:
        view.dynamic = True
        view.dynamic_names = stream.for_each.stream_id
        view.dynamic_source = (
            f"one per item of the setting {stream.for_each.config}"
            if stream.for_each.config is not None
            else f"one per record of GET {stream.for_each.path}"
        )
    view.mixins = mixins(stream)
    if spec.concurrency_of(stream) > 1:
        _concurrent(view, stream, spec)
    view.schema = _shaped_schema(view.schema, stream, spec)
    if incremental is not None:
        _place_filter(view, incremental)
    return view


def _concurrent(view: StreamView, stream: Stream, spec: Spec) -> None:
    """Requests in flight at once (runtime/concurrency.py) for this stream."""
    view.mixins.append("ConcurrentStream")
    view.options += [
        ("concurrency", spec.concurrency_of(stream)),
        ("pool_size", spec.pool_size),
    ]
    incremental = stream.incremental
    if (
        stream.parent_stream
        and incremental is not None
        and (incremental.param_name is not None or incremental.window)
    ):
        # The filter comes from this parent's bookmark, read when the child's
        # sync starts: its first request cannot be sent ahead.
        view.options.append(("prefetch_first_page", False))


def _with_key_field(
    schema: dict[str, t.Any], incremental: Incremental
) -> dict[str, t.Any]:
    """The schema plus the top-level field a nested replication key is copied to."""
    result = copy.deepcopy(schema)
    path = incremental.key_path or ()
    result["properties"][incremental.key_field] = copy.deepcopy(
        nested_property(schema, path) or {}
    )
    return result


def _place_filter(view: StreamView, incremental: Incremental) -> None:
    """The incremental filter (and a window's end) in the query or headers."""
    if incremental.param_name is None:
        return
    target = _target(view, incremental.location)
    target.append(Placement(incremental.param_name, "filter", incremental.date_format))
    if incremental.end_param is not None:
        target.append(
            Placement(incremental.end_param, "window_end", incremental.date_format)
        )


_LITERAL_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def _shaped_schema(
    schema: dict[str, t.Any], stream: Stream, spec: Spec
) -> dict[str, t.Any]:
    """The emitted schema: removed fields out, added fields in."""
    if not (stream.remove_fields or stream.add_fields):
        return schema
    result = copy.deepcopy(schema)
    properties = result.setdefault("properties", {})
    for name in stream.remove_fields:
        properties.pop(name, None)
    for name, value in stream.add_fields.items():
        if name not in properties:
            properties[name] = _added_field_schema(value, spec)
    return result


def _added_field_schema(value: object, spec: Spec) -> dict[str, t.Any]:
    variables = list(variables_in(value))
    if isinstance(value, str) and len(variables) == 1 and str(variables[0]) == value:
        parameter = next(
            (p for p in spec.parameters if p.name == variables[0].name), None
        )
        kind = parameter.type if parameter else "string"
        if kind == "date-time":
            return {"type": ["string", "null"], "format": "date-time"}
        return {"type": [kind, "null"]}
    if value is None:
        return {"type": ["string", "null"]}
    return {"type": _LITERAL_TYPES[type(value)]}


# --------------------------------------------------------------------------- #
# The whole package
# --------------------------------------------------------------------------- #


def template_context(connector: Connector, tool_version: str) -> dict[str, t.Any]:
    """The context every template of the package is rendered with."""
    spec = connector.spec
    names = NameAllocator()
    tap_class = names.take("Tap" + camel_case(spec.tap_id))
    base_class = names.take(camel_case(spec.tap_id) + "Stream")
    streams = stream_views(connector, names)
    paginators = sorted(
        {c for s in streams if s.paginator for c in s.paginator.components},
        key=lambda c: c.class_name,
    )
    auth = auth_view(spec)
    tap_settings = settings(spec)
    #: Run-time mixins the streams use: module -> class, in the order of bases.
    mixins_used = {
        MIXINS[name]: name for name in MIXINS if any(name in s.mixins for s in streams)
    }
    custom = custom_classes(spec)
    return {
        "spec": spec,
        "package": spec.package,
        "distribution": spec.distribution,
        "tap_class": tap_class,
        "base_class": base_class,
        "streams": streams,
        "settings": tap_settings,
        "auth": auth,
        "paginators": paginators,
        "sdk_paginator_imports": _imports(
            [c for c in paginators if not c.in_package], spec.package
        ),
        "package_imports": _package_imports(paginators, mixins_used, spec.package),
        "runtime_mixins": mixins_used,
        "extra_dependencies": extra_dependencies(mixins_used),
        "sdk_requirement": SDK_REQUIREMENT,
        "sdk_test_requirement": SDK_TEST_REQUIREMENT,
        "tool_version": tool_version,
        "type_imports": _type_imports(streams, custom),
        "custom": custom,
        "needs_override": any(
            s.paginator
            or s.id in custom.paginators
            or s.needs_url_params
            or s.needs_http_request
            or s.needs_payload
            or s.child_context
            for s in streams
        ),
        "meltano": meltano_plugin(spec, tap_settings),
        "logo_src": logo_source(connector),
        "allowed_hosts": tuple(spec.allowed_hosts),
        "stream_groups": stream_groups(spec),
        "has_dynamic": any(s.dynamic for s in streams),
    }


def stream_groups(spec: Spec) -> list[list[str]]:
    """Each top-level stream with its descendants (a job selects them together)."""
    groups: list[list[str]] = []
    for stream in spec.streams:
        if stream.parent_stream is None:
            family = [stream.id]
            for member in family:  # grows as children are found
                family += [s.id for s in spec.streams if s.parent_stream == member]
            groups.append(family)
    return groups


def logo_source(connector: Connector) -> str | None:
    """The logo for the README: a URL, the copied file, or one from the domain."""
    spec = connector.spec
    if connector.logo_file is not None:
        return "assets/logo" + connector.logo_file[1]
    if spec.logo:
        return quote(spec.logo, safe=":/?&=%#+@,;~")
    if spec.domain:
        return FAVICON_URL + quote(spec.domain, safe="")
    return None


#: Where a logo comes from when the spec gives only a domain.
FAVICON_URL = "https://www.google.com/s2/favicons?sz=128&domain="


def _imports(components: list[Component], package: str) -> dict[str, list[str]]:
    """Class names by the absolute module they come from, modules sorted."""
    found: dict[str, list[str]] = {}
    for component in components:
        names = found.setdefault(component.import_module(package), [])
        if component.class_name not in names:
            names.append(component.class_name)
    return dict(sorted(found.items()))


def _package_imports(
    paginators: list[Component], mixins_used: dict[str, str], package: str
) -> dict[str, list[str]]:
    """streams.py's imports from the package: paginators and run-time mixins."""
    found = _imports([c for c in paginators if c.in_package], package)
    for module, name in mixins_used.items():
        found.setdefault(f"{package}.runtime.{module}", []).append(name)
    return {module: sorted(names) for module, names in sorted(found.items())}


@dataclass(frozen=True)
class CustomClasses:
    """Classes the spec names from the package's custom.py (``custom`` keys)."""

    #: stream id -> its paginator class.
    paginators: dict[str, str]
    authenticator: str | None


def custom_classes(spec: Spec) -> CustomClasses:
    """The classes of custom.py the spec names."""
    return CustomClasses(
        paginators={
            s.id: s.custom.paginator
            for s in spec.streams
            if s.custom and s.custom.paginator
        },
        authenticator=spec.custom.authenticator if spec.custom else None,
    )


def _type_imports(
    streams: list[StreamView], custom: CustomClasses
) -> dict[str, list[str]]:
    """Names streams.py imports for annotations only, by module."""
    helpers: list[str] = []
    if any(s.needs_url_params or s.needs_payload or s.child_context for s in streams):
        helpers.append("Context")
    if any(s.child_context for s in streams):
        helpers.append("Record")
    rest = (
        ["HTTPRequest", "PageContext"]
        if any(s.needs_http_request for s in streams)
        else []
    )
    found = {
        "singer_sdk.helpers.types": helpers,
        "singer_sdk.pagination": ["BaseAPIPaginator"] if custom.paginators else [],
        "singer_sdk.streams.rest": rest,
    }
    return {module: names for module, names in found.items() if names}


def meltano_plugin(spec: Spec, tap_settings: list[Setting]) -> dict[str, t.Any]:
    """The extractor entry of ``meltano.yml`` (plain data, dumped as YAML)."""
    entries: list[dict[str, t.Any]] = []
    for setting in tap_settings:
        entry: dict[str, t.Any] = {
            "name": setting.name,
            "kind": setting.meltano_kind,
            "label": setting.label,
        }
        if setting.description:
            entry["description"] = setting.description
        if setting.secret:
            entry["sensitive"] = True
        if setting.default is not None:
            entry["value"] = setting.default
        entries.append(entry)
    return {
        "name": spec.distribution,
        "namespace": spec.package,
        "pip_url": "-e .",
        "executable": spec.distribution,
        "capabilities": [
            "catalog",
            "discover",
            "state",
            "about",
            "stream-maps",
            "schema-flattening",
        ],
        "settings": entries,
    }
