"""Validation: loaded spec data -> a :class:`Connector`, or every problem at once."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from tap_builder.checks import check_spec
from tap_builder.spec import models
from tap_builder.spec.errors import SpecError, SpecIssue, format_path
from tap_builder.spec.messages import pydantic_issues

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


def _known_keys() -> set[str]:
    keys: set[str] = set()
    for model in vars(models).values():
        if isinstance(model, type) and issubclass(model, BaseModel):
            for name, info in model.model_fields.items():
                keys.add(info.alias or name)
    return keys


def validate_spec(loaded: LoadedSpec) -> Connector:
    """Validate loaded spec data into a :class:`Connector`.

    Raises:
        SpecError: with every problem found, each naming its field path.
    """

    def issue(loc: Loc, message: str) -> SpecIssue:
        return SpecIssue(format_path(loc), message, loaded.line_of(loc))

    try:
        spec = models.Spec.model_validate(loaded.data)
    except ValidationError as exc:
        found = pydantic_issues(exc, loaded.data, _known_keys())
        raise SpecError(
            [issue(loc, msg) for loc, msg in found], loaded.source
        ) from None
    problems, checked = check_spec(spec, loaded.base_dir)
    if problems:
        raise SpecError([issue(loc, msg) for loc, msg in problems], loaded.source)
    return Connector(
        spec=spec,
        schemas=checked.schemas,
        logo_file=checked.logo_file,
        base_dir=loaded.base_dir,
    )
