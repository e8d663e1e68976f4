"""The console entry point: every failure is one clear line and exit 1.

Config and state files are read and checked first.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import typing as t
from pathlib import Path

import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from .dates import parse_datetime
from .http import describe_failure
from .secrets import (
    excerpt,
    install_log_redaction,
    redact,
    redact_url,
    register_secret,
)

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from singer_sdk import Tap


class UsageError(Exception):
    """A file given on the command line cannot be used; the message says why."""


#: The largest config or state file read (bytes).
MAX_FILE_BYTES = 16 * 1024 * 1024
#: State keys whose values become incremental filters.
_BOOKMARK_KEYS = ("replication_key_value", "starting_replication_value")


def _option_values(args: list[str], option: str) -> list[str]:
    """Values of ``--option VALUE`` / ``--option=VALUE`` in ``args``."""
    found: list[str] = []
    for index, arg in enumerate(args):
        if arg == option and index + 1 < len(args):
            found.append(args[index + 1])
        elif arg.startswith(option + "="):
            found.append(arg.split("=", 1)[1])
    return found


def read_json_arg(path: str, what: str) -> t.Any:  # noqa: ANN401
    """A JSON file named on the command line, read with a size bound.

    Raises:
        UsageError: when it is missing, not a regular file, too large or not JSON.
    """
    file = Path(path)
    try:
        if not file.is_file():
            msg = f"the {what} file {path} does not exist or is not a regular file"
            raise UsageError(msg)
        with file.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        msg = f"cannot read the {what} file {path}: {exc.strerror or exc}"
        raise UsageError(msg) from None
    if len(data) > MAX_FILE_BYTES:
        msg = f"the {what} file {path} is larger than {MAX_FILE_BYTES // 2**20} MB"
        raise UsageError(msg)
    try:
        return json.loads(data)
    except RecursionError:
        msg = f"the {what} file {path} is nested too deeply"
        raise UsageError(msg) from None
    except ValueError as exc:
        msg = f"the {what} file {path} is not JSON: {exc}"
        raise UsageError(msg) from None


def state_problems(state: object) -> list[str]:
    """What is wrong with a Singer state for this tap (empty when it is usable).

    Checks the layout the SDK reads (``bookmarks`` -> stream -> values, with
    ``partitions`` of ``context`` + values) and that every bookmark is a
    date-time or a Unix timestamp the tap can turn into a filter.
    """
    if not isinstance(state, dict):
        return [f"the state must be a JSON object, not {type(state).__name__}"]
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        return ["bookmarks: must be an object of stream names"]
    problems: list[str] = []
    for stream, stream_state in bookmarks.items():
        where = f"bookmarks.{stream}"
        if not isinstance(stream_state, dict):
            problems.append(f"{where}: must be an object")
            continue
        problems += _bookmark_problems(stream_state, where)
        partitions = stream_state.get("partitions", [])
        if not isinstance(partitions, list):
            problems.append(f"{where}.partitions: must be a list")
            continue
        for index, partition in enumerate(partitions):
            here = f"{where}.partitions[{index}]"
            if not isinstance(partition, dict) or not isinstance(
                partition.get("context", {}), dict
            ):
                problems.append(f"{here}: must be an object with a context object")
                continue
            problems += _bookmark_problems(partition, here)
    return problems


def _bookmark_problems(values: Mapping[str, t.Any], where: str) -> list[str]:
    problems: list[str] = []
    for key in _BOOKMARK_KEYS:
        value = values.get(key)
        if value is None:
            continue
        if not _is_date_time(value):
            problems.append(
                f"{where}.{key}: {json.dumps(value, default=str)[:60]} is not a "
                "date-time or Unix "
                "timestamp the tap can use"
            )
    return problems


def _is_date_time(value: object) -> bool:
    """Whether a bookmark value is a date-time or Unix timestamp the tap can use.

    Any integer is: it may be a sequence cursor (an id, a version).
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    if isinstance(value, int):
        return True
    try:
        parse_datetime(value)
    except (TypeError, ValueError, OverflowError, OSError):
        return False
    return True


def check_arguments(tap_class: type[Tap], args: list[str]) -> None:
    """Read the config and state files first, so their problems are clear.

    Secret settings are registered before the SDK validates the config, so a
    config error never shows a secret value.

    Raises:
        UsageError: naming the file and what is wrong with it.
    """
    properties = tap_class.config_jsonschema.get("properties", {})
    secrets = [name for name, prop in properties.items() if prop.get("secret")]
    prefix = tap_class.name.upper().replace("-", "_")
    for name in secrets:
        register_secret(os.environ.get(f"{prefix}_{name.upper()}"))
    for path in _option_values(args, "--config"):
        if path == "ENV":
            continue
        config = read_json_arg(path, "config")
        if not isinstance(config, dict):
            msg = f"the config file {path} must hold a JSON object"
            raise UsageError(msg)
        for name in secrets:
            register_secret(config.get(name))
    for path in _option_values(args, "--state"):
        if problems := state_problems(read_json_arg(path, "state")):
            msg = (
                f"the state file {path}: "
                + "; ".join(problems)
                + (". Fix or remove these entries (or start without --state)")
            )
            raise UsageError(msg)


def run_cli(tap_class: type[Tap]) -> None:
    """Run the tap's command line; failures end in one clear line and exit 1.

    Set ``TAP_DEBUG=1`` in the environment to see tracebacks of unexpected errors.
    """
    install_log_redaction()
    failure = _run(tap_class)
    if failure is not None:
        logging.getLogger(tap_class.name).error("%s", failure)
        sys.exit(1)


def _run(tap_class: type[Tap]) -> str | None:
    """Run the tap; the line that says why it failed, or None."""
    try:
        check_arguments(tap_class, sys.argv[1:])
        tap_class.cli()
    except (UsageError, FatalAPIError, RetriableAPIError) as exc:
        return redact(str(exc))
    except requests.RequestException as exc:  # raised outside a stream's requests
        request = getattr(exc, "request", None)
        if request is not None and request.url:
            url = redact_url(request.url)
            return f"request to {url} failed: {describe_failure(exc, 0)}"
        # the URL could not even be built: requests' message names it
        return f"invalid request: {excerpt(str(exc), 300)}"
    except (ArithmeticError, LookupError, RecursionError, TypeError, ValueError) as exc:
        if os.environ.get("TAP_DEBUG"):
            raise
        name = type(exc).__name__
        detail = excerpt(str(exc), 300)
        return f"unexpected {name}: {detail} (set TAP_DEBUG=1 for the traceback)"
    return None
