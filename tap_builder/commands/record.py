"""``tap-builder record``: HTTP fixtures for a generated tap's offline test suite.

The SDK's standard tests sync each stream with a record cap (a "dry run"). This
module runs exactly that dry run against the real API, in-process through the
generated tap's code, and stores every request and response. The generated
``tests/replay.py`` serves them from 127.0.0.1, so ``pytest`` in the package makes
the same requests and gets the same answers, with no network.

Fixtures hold no credentials. Every credential (secret settings, and every
setting the authentication block uses, whatever its secret flag; for Basic
authentication the base64 header value too) is registered with the tap's
runtime before the dry run, in every form it can take. Then: request headers
that hold one are not stored (nor are authentication headers at all), query
parameters that carry an API key are dropped, and whatever else holds one is
masked as ``***`` (query values, the path, strings anywhere in a request body,
response bodies and ``Link`` headers). The recorded config replaces credential
settings by placeholders. ``tests/replay.py`` reads ``***`` in a recorded
request as "any text here", so the tap, run with the placeholders, still gets
its recorded answers.
"""

from __future__ import annotations

import json
import logging
import typing as t
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from tap_builder.commands.inprocess import (
    check_config,
    generated_tap,
    tap_class,
    tap_runtime,
)
from tap_builder.commands.preview import (
    CapturingWriter,
    Masker,
    credential_settings,
    register_credentials,
)

if t.TYPE_CHECKING:
    from types import ModuleType

    import requests

    from tap_builder.spec.models import Parameter
    from tap_builder.spec.validation import Connector

#: Where fixtures live in a generated package (not owned by the generator).
FIXTURES_PATH = Path("tests") / "fixtures" / "http.json"
#: Placeholder that replaces credential settings in recorded configs.
SECRET_PLACEHOLDER = "fixture-secret"  # noqa: S105 - a placeholder, not a secret
#: Placeholders of credential settings that are not strings, by parameter type.
_TYPED_PLACEHOLDERS: dict[str, t.Any] = {"integer": 0, "number": 0, "boolean": False}
#: Request headers that do not select what the API answers (or carry secrets).
_TRANSPORT_HEADERS = {
    "accept",
    "accept-encoding",
    "authorization",
    "connection",
    "content-length",
    "content-type",
    "cookie",
    "host",
    "proxy-authorization",
    "user-agent",
}
#: The SDK test suite's default record cap per stream.
DEFAULT_MAX_RECORDS = 150


def record_fixtures(
    connector: Connector,
    config: dict[str, t.Any],
    max_records: int = DEFAULT_MAX_RECORDS,
) -> dict[str, t.Any]:
    """Run the test suite's dry runs against the API and return the fixture data."""
    check_config(connector, config)
    with generated_tap(connector) as module:
        runtime = tap_runtime(connector.spec.package)
        masker = register_credentials(runtime, connector, config)
        exchanges: dict[str, dict[str, t.Any]] = {}
        base_path, hidden, origin = "", set[str](), ""
        logging.disable(logging.CRITICAL)
        try:
            for limit in (max_records, 1):  # the sync tests, then the connection test
                base_path, hidden, origin = _dry_run(
                    module, masker, config, limit, exchanges
                )
        finally:
            logging.disable(logging.NOTSET)
        recorded_config = _recorded_config(connector, config, masker)
    return {
        "recorded_with": "tap-builder record",
        "max_records": max_records,
        "base_path": base_path,
        "origin": origin,
        "ignored_query": sorted(hidden),
        "config": recorded_config,
        "exchanges": list(exchanges.values()),
    }


def _recorded_config(
    connector: Connector, config: dict[str, t.Any], masker: Masker
) -> dict[str, t.Any]:
    """The config the offline tests run with: credentials become placeholders.

    A credential setting left to its default gets a placeholder too (else the
    tests would send the real default). Any other value that holds a credential
    is masked.
    """
    parameters = {p.name: p for p in connector.spec.parameters}
    recorded = {
        name: masker.data(value, numbers=True)
        for name, value in config.items()
        if name != "api_url"
    }
    for name in credential_settings(connector):
        value = config.get(name)
        if value is None:
            value = parameters[name].default
        if value not in (None, ""):  # an empty value is no secret, and stays
            recorded[name] = _placeholder(parameters[name])
    return recorded


def _placeholder(parameter: Parameter) -> t.Any:  # noqa: ANN401
    return _TYPED_PLACEHOLDERS.get(parameter.type, SECRET_PLACEHOLDER)


def _dry_run(
    module: ModuleType,
    masker: Masker,
    config: dict[str, t.Any],
    limit: int,
    exchanges: dict[str, dict[str, t.Any]],
) -> tuple[str, set[str], str]:
    """One dry run with every exchange recorded.

    Returns:
        The base URL's path, the query parameters that carry secrets, and the
        API's origin (replay puts its own in its place in answers).
    """
    cls = tap_class(module)
    writer = CapturingWriter()
    tap = cls(config=dict(config), parse_env_config=False, message_writer=writer)
    streams = list(tap.streams.values())
    base_path = urlsplit(streams[0].url_base).path.rstrip("/")
    hidden = {name for s in streams for name in getattr(s, "secret_query_params", ())}
    for stream in streams:
        stream.max_attempts = 1
        stream.requests_session.hooks["response"].append(
            _recorder(masker, base_path, hidden, exchanges)
        )
    tap.run_sync_dry_run(dry_run_record_limit=limit)
    parts = urlsplit(streams[0].url_base)
    return masker.text(base_path), hidden, f"{parts.scheme}://{parts.netloc}"


def _recorder(
    masker: Masker,
    base_path: str,
    hidden: set[str],
    exchanges: dict[str, dict[str, t.Any]],
) -> t.Callable[..., None]:
    def hook(response: requests.Response, *_: t.Any, **__: t.Any) -> None:  # noqa: ANN401
        request = response.request
        parts = urlsplit(str(request.url))
        path = parts.path.removeprefix(base_path) if base_path else parts.path
        path = masker.text(path)
        query = [
            [k, masker.text(v)]
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k not in hidden
        ]
        body = masker.data(_json_or_text(request.body), numbers=True)
        headers = {
            name.lower(): value
            for name, value in request.headers.items()
            if name.lower() not in _TRANSPORT_HEADERS and not masker.holds_secret(value)
        }
        exchange = {
            "method": request.method,
            "path": path,
            "query": sorted(query),
            "headers": dict(sorted(headers.items())),
            "body": body,
            "status": response.status_code,
            "content_type": masker.text(
                response.headers.get("Content-Type", "application/json")
            ),
            "link": masker.text(link)
            if (link := response.headers.get("Link"))
            else None,
            "response": masker.text(response.text),
        }
        key = json.dumps(
            [exchange["method"], path, exchange["query"], exchange["headers"], body],
            sort_keys=True,
        )
        # The last answer to a request is the one the tap kept: a 429 or 5xx that
        # was retried is replaced by the retry's answer.
        exchanges[key] = exchange

    return hook


def _json_or_text(body: object) -> t.Any:  # noqa: ANN401
    if body is None:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        return json.loads(text)
    except ValueError:
        return text


def write_fixtures(package_dir: Path, fixtures: dict[str, t.Any]) -> Path:
    """Store fixtures in a generated package; returns the file written."""
    target = package_dir / FIXTURES_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        json.dumps(fixtures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return target
