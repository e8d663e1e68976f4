"""``tap-builder record``: HTTP fixtures for a generated tap's offline test suite.

The SDK's standard tests sync each stream with a record cap (a "dry run"). This
module runs exactly that dry run against the real API, in-process through the
generated tap's code, and stores every request and response. The generated
``tests/replay.py`` serves them from 127.0.0.1, so ``pytest`` in the package makes
the same requests and gets the same answers, with no network.

Fixtures hold no secrets: request headers are not stored, query parameters that
carry an API key are dropped, secret settings are replaced by placeholders and
any secret value found in a response body is masked.
"""

from __future__ import annotations

import importlib
import json
import logging
import typing as t
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from tap_builder.inprocess import check_config, generated_tap, tap_class
from tap_builder.preview import CapturingWriter

if t.TYPE_CHECKING:
    from types import ModuleType

    import requests

    from tap_builder.validation import Connector

#: Where fixtures live in a generated package (not owned by the generator).
FIXTURES_PATH = Path("tests") / "fixtures" / "http.json"
#: Placeholder that replaces secret settings in recorded configs.
SECRET_PLACEHOLDER = "fixture-secret"  # noqa: S105 - a placeholder, not a secret
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
    secrets = {p.name for p in connector.spec.parameters if p.secret}
    with generated_tap(connector) as module:
        runtime = importlib.import_module(f"{connector.spec.package}.runtime")
        exchanges: dict[str, dict[str, t.Any]] = {}
        base_path, hidden = "", set[str]()
        logging.disable(logging.CRITICAL)
        try:
            for limit in (max_records, 1):  # the sync tests, then the connection test
                base_path, hidden = _dry_run(module, runtime, config, limit, exchanges)
        finally:
            logging.disable(logging.NOTSET)
    recorded_config = {
        name: (SECRET_PLACEHOLDER if name in secrets else value)
        for name, value in config.items()
        if name != "api_url"
    }
    return {
        "recorded_with": "tap-builder record",
        "max_records": max_records,
        "base_path": base_path,
        "ignored_query": sorted(hidden),
        "config": recorded_config,
        "exchanges": list(exchanges.values()),
    }


def _dry_run(
    module: ModuleType,
    runtime: ModuleType,
    config: dict[str, t.Any],
    limit: int,
    exchanges: dict[str, dict[str, t.Any]],
) -> tuple[str, set[str]]:
    """One dry run with every exchange recorded.

    Returns:
        The base URL's path and the query parameters that carry secrets.
    """
    cls = tap_class(module)
    tap = cls(config=config, parse_env_config=False, message_writer=CapturingWriter())
    streams = list(tap.streams.values())
    base_path = urlsplit(streams[0].url_base).path.rstrip("/")
    hidden = {name for s in streams for name in getattr(s, "secret_query_params", ())}
    for stream in streams:
        stream.max_attempts = 1
        stream.requests_session.hooks["response"].append(
            _recorder(runtime, base_path, hidden, exchanges)
        )
    tap.run_sync_dry_run(dry_run_record_limit=limit)
    return base_path, hidden


def _recorder(
    runtime: ModuleType,
    base_path: str,
    hidden: set[str],
    exchanges: dict[str, dict[str, t.Any]],
) -> t.Callable[..., None]:
    def hook(response: requests.Response, *_: t.Any, **__: t.Any) -> None:  # noqa: ANN401
        request = response.request
        parts = urlsplit(str(request.url))
        path = parts.path.removeprefix(base_path) if base_path else parts.path
        query = [
            [k, v]
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k not in hidden
        ]
        body = _json_or_text(request.body)
        headers = {
            name.lower(): value
            for name, value in request.headers.items()
            if name.lower() not in _TRANSPORT_HEADERS and runtime.redact(value) == value
        }
        exchange = {
            "method": request.method,
            "path": path,
            "query": sorted(query),
            "headers": dict(sorted(headers.items())),
            "body": body,
            "status": response.status_code,
            "content_type": response.headers.get("Content-Type", "application/json"),
            "link": response.headers.get("Link"),
            "response": runtime.redact(response.text),
        }
        key = json.dumps(
            [exchange["method"], path, exchange["query"], exchange["headers"], body],
            sort_keys=True,
        )
        exchanges.setdefault(key, exchange)

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
