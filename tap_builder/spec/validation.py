"""Validation: loaded spec data -> a :class:`Connector`, or every problem at once.

Field-level problems (pydantic) and cross-field problems
(:mod:`tap_builder.spec.checks`) are reported together. When some parts of a spec
fail field-level validation, the
cross-field checks still run on the parts that validated: an unknown key is read as
the key it is a typo of (or left out), and each stream, parameter or top-level value
that fails is replaced by a stand-in that keeps what other parts refer to (a
stream's id, parent and context keys; a parameter's name), and whose own
cross-field problems are not reported (its field-level ones are).
"""

from __future__ import annotations

import copy
import typing as t
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from tap_builder.spec import models
from tap_builder.spec.checks import check_spec
from tap_builder.spec.errors import SpecError, SpecIssue, format_path
from tap_builder.spec.fields import Found
from tap_builder.spec.messages import data_loc, place_of, pydantic_issues, unknown_key
from tap_builder.spec.migrations import upgrade

if t.TYPE_CHECKING:
    from tap_builder.spec.loader import LoadedSpec, Loc


@dataclass(frozen=True)
class Connector:
    """A valid spec together with what validation resolved (each stream's schema)."""

    spec: models.Spec
    schemas: dict[str, dict[str, t.Any]]
    #: The logo file's bytes and suffix, when the spec's ``logo`` is a local path.
    logo_file: tuple[bytes, str] | None
    base_dir: Path


def validate_spec(loaded: LoadedSpec) -> Connector:
    """Validate loaded spec data into a :class:`Connector`.

    A spec of an older ``spec_version`` is upgraded in memory first (see
    :mod:`tap_builder.spec.migrations`).

    Raises:
        SpecError: with every problem found, each naming its field path, sorted
            by line.
    """
    loaded, _, version_issues = upgrade(loaded)
    if version_issues:
        raise SpecError(version_issues, loaded.source)
    try:
        spec = models.Spec.model_validate(loaded.data)
    except ValidationError as exc:
        found = pydantic_issues(exc, loaded.data, models.Spec)
        found += _checks_of_what_validated(loaded, exc)
        raise SpecError(_issues(loaded, found), loaded.source) from None
    problems, checked = check_spec(spec, loaded.base_dir)
    if problems:
        raise SpecError(_issues(loaded, problems), loaded.source)
    return Connector(
        spec=spec,
        schemas=checked.schemas,
        logo_file=checked.logo_file,
        base_dir=loaded.base_dir,
    )


def _issues(loaded: LoadedSpec, found: list[Found]) -> list[SpecIssue]:
    """One issue per distinct problem, sorted by line (stable within a line)."""
    issues = {
        SpecIssue(format_path(loc), message, loaded.line_of(loc)): None
        for loc, message in found
    }
    return sorted(issues, key=lambda issue: issue.line or 0)


# --------------------------------------------------------------------------- #
# Cross-field checks on a spec whose field-level validation failed
# --------------------------------------------------------------------------- #

#: Top-level lists whose items stand in for themselves one by one.
_LISTS = ("streams", "parameters", "allowed_hosts")
#: Stand-ins for required top-level values that failed (optional ones are dropped).
_REQUIRED_STAND_INS: dict[str, object] = {
    "name": "spec",
    "tap_id": "spec",
    "base_url": "https://spec.invalid",
    "streams": [],
}
#: The id of a stream stand-in whose id is not text (no spec can name it).
_NO_ID = "\x00"


def _checks_of_what_validated(loaded: LoadedSpec, exc: ValidationError) -> list[Found]:
    """Cross-field problems of the parts of the spec that validated."""
    data = copy.deepcopy(loaded.data)
    if not isinstance(data, dict):
        return []
    renamed = _repair_keys(data, exc)
    failed: set[Loc] = set()
    try:
        spec = models.Spec.model_validate(data)
    except ValidationError as again:
        failed = {_region(data_loc(e["loc"], data)) for e in again.errors()}
        if () in failed:
            return []
        _stand_in(data, failed)
        try:
            spec = models.Spec.model_validate(data)
        except ValidationError:  # a stand-in the models refuse: report what we have
            return []
    declared_known = not failed & {("parameters",), ("streams",)} and all(
        parameter.name for parameter in spec.parameters
    )
    problems, _ = check_spec(spec, loaded.base_dir, declared_known=declared_known)
    return [
        (_as_written(loc, renamed), message)
        for loc, message in problems
        if not any(loc[: len(region)] == region for region in failed)
    ]


def _repair_keys(data: dict[str, t.Any], exc: ValidationError) -> dict[Loc, Loc]:
    """Rename unknown keys to the key they are a typo of, or drop them.

    Returns the renamed locations (new -> as written), so that problems found
    under a renamed key are reported at the key the spec holds.
    """
    unknown = [
        (data_loc(error["loc"], data), unknown_key(str(error["loc"][-1]), place))
        for error in exc.errors()
        if error["type"] == "extra_forbidden"
        for place in [place_of(models.Spec, error["loc"][:-1])]
    ]
    renamed: dict[Loc, Loc] = {}
    for loc, advice in unknown:
        container = _node(data, loc[:-1])
        key = loc[-1]
        if not isinstance(container, dict) or key not in container:
            continue
        value = container.pop(key)
        if advice.meant is not None and advice.meant not in container:
            container[advice.meant] = value
            renamed[(*loc[:-1], advice.meant)] = loc
    return renamed


def _node(data: object, loc: Loc) -> object:
    node = data
    for part in loc:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


def _as_written(loc: Loc, renamed: dict[Loc, Loc]) -> Loc:
    for end in range(len(loc), 0, -1):
        if (written := renamed.get(loc[:end])) is not None:
            return (*written, *loc[end:])
    return loc


def _region(loc: Loc) -> Loc:
    """The part of the spec a field-level problem takes out of the checks."""
    if not loc:
        return ()
    if loc[0] in _LISTS and len(loc) > 1 and isinstance(loc[1], int):
        return loc[:2]
    return loc[:1]


def _stand_in(data: dict[str, t.Any], failed: set[Loc]) -> None:
    """Replace each failed part with a stand-in that validates."""
    for region in failed:
        key = str(region[0])
        if len(region) == 2 and isinstance(data.get(key), list):
            index = int(region[1])
            items = data[key]
            if key == "streams":
                items[index] = _stream_stand_in(items[index])
            elif key == "parameters":
                items[index] = _parameter_stand_in(items[index])
            else:
                items[index] = f"_{index}.invalid"  # a host no spec means
        elif key in _REQUIRED_STAND_INS:
            data[key] = copy.deepcopy(_REQUIRED_STAND_INS[key])
        else:
            data.pop(key, None)


def _stream_stand_in(raw: object) -> models.Stream:
    """A stream that keeps what other streams refer to: id, parent, context keys.

    It is incremental when the stream is (so ``{config.start_date}`` exists).
    """
    fields = raw if isinstance(raw, dict) else {}
    stream_id = fields.get("id")
    parent = fields.get("parent_stream")
    context = fields.get("child_context")
    if isinstance(context, list):
        context = dict.fromkeys(item for item in context if isinstance(item, str))
    keys = (
        {key: "-" for key in context if isinstance(key, str)}
        if isinstance(context, dict)
        else {}
    )
    incremental = (
        models.Incremental.model_validate(
            {"replication_key": "-", "client_filter": True}
        )
        if fields.get("incremental") is not None
        else None
    )
    return models.Stream.model_construct(
        name="-",
        id=stream_id if isinstance(stream_id, str) else _NO_ID,
        path="",
        parent_stream=parent if isinstance(parent, str) else None,
        child_context=keys,
        incremental=incremental,
    )


def _parameter_stand_in(raw: object) -> models.Parameter:
    """A parameter that keeps its name ('' when it has none to keep)."""
    name = raw.get("name") if isinstance(raw, dict) else raw
    return models.Parameter.model_construct(name=name if isinstance(name, str) else "")
