"""Spec versions: which version a spec is, and one migration per version step.

A spec says its format version in ``spec_version``; a spec without it is version
1. When the format changes incompatibly, :data:`SPEC_VERSION` goes up by one and
:data:`STEPS` gets the function that upgrades a spec from the version before.
Each step edits the spec's mapping in place and returns what it renamed, so the
same steps serve two callers:

- validation upgrades an older spec in memory (:func:`upgrade`), so every
  tap-builder reads every spec version, and line numbers still point at the
  keys as written;
- ``tap-builder migrate`` upgrades the file itself (:func:`migrate_text`): YAML
  through ruamel.yaml's round-trip mode, so comments, key order and quoting stay.

The steps:

- **1 -> 2**: ``pagination.attribute`` of ``type: page_increment`` is renamed
  ``page_param``. It names the request parameter (or header) that carries the
  page number, not an attribute of anything; the other paginators already call
  theirs ``offset_param``, ``limit_param`` and ``param``.
"""

from __future__ import annotations

import copy
import io
import json
import typing as t
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, replace

from tap_builder.spec.errors import SpecIssue, format_path
from tap_builder.spec.models import SPEC_VERSION

if t.TYPE_CHECKING:
    from tap_builder.spec.loader import LoadedSpec, Loc

__all__ = [
    "SPEC_VERSION",
    "STEPS",
    "Migration",
    "migrate_data",
    "migrate_text",
    "upgrade",
    "version_of",
]


@dataclass(frozen=True)
class Rename:
    """A key a migration renamed: where it was, and its new name."""

    loc: Loc
    new_name: str

    @property
    def new_loc(self) -> Loc:
        """Where the key is now."""
        return (*self.loc[:-1], self.new_name)

    def describe(self) -> str:
        """``streams[0].pagination.attribute -> page_param``."""
        return f"renamed {format_path(self.loc)} to {self.new_name}"


Step = Callable[[MutableMapping[str, t.Any]], list[Rename]]


def _rename_key(mapping: MutableMapping[str, t.Any], old: str, new: str) -> None:
    """Rename ``old`` to ``new`` in place, keeping its position and comments."""
    keys = list(mapping)
    position = keys.index(old)
    comments = getattr(mapping, "ca", None)
    comment = comments.items.pop(old, None) if comments is not None else None
    value = mapping.pop(old)
    insert = getattr(mapping, "insert", None)
    if insert is not None:  # ruamel.yaml's CommentedMap
        insert(position, new, value)
        if comment is not None and comments is not None:
            comments.items[new] = comment
        return
    rest = [(key, mapping.pop(key)) for key in keys[position + 1 :]]
    mapping[new] = value
    mapping.update(rest)


def _page_increments(
    data: MutableMapping[str, t.Any],
) -> list[tuple[Loc, MutableMapping[str, t.Any]]]:
    """Each ``page_increment`` pagination block, with its location."""
    streams = data.get("streams")
    found: list[tuple[Loc, MutableMapping[str, t.Any]]] = []
    if not isinstance(streams, list):
        return found
    for index, stream in enumerate(streams):
        pagination = stream.get("pagination") if isinstance(stream, dict) else None
        if (
            isinstance(pagination, MutableMapping)
            and pagination.get("type") == "page_increment"
        ):
            found.append((("streams", index, "pagination"), pagination))
    return found


def _v1_to_v2(data: MutableMapping[str, t.Any]) -> list[Rename]:
    """``page_increment``'s ``attribute`` becomes ``page_param``."""
    renames = []
    for loc, pagination in _page_increments(data):
        if "attribute" in pagination and "page_param" not in pagination:
            _rename_key(pagination, "attribute", "page_param")
            renames.append(Rename((*loc, "attribute"), "page_param"))
    return renames


#: version -> the step that upgrades a spec of that version to the next one.
STEPS: dict[int, Step] = {1: _v1_to_v2}

#: Keys a version renamed, still accepted by the models: (version, old, new).
_RENAMED_IN = ((2, "attribute", "page_param"),)


def version_of(data: object) -> int | None:
    """The spec's format version: 1 when absent, None when it is not a number."""
    if not isinstance(data, MutableMapping):
        return None
    version = data.get("spec_version", 1)
    if isinstance(version, bool) or not isinstance(version, int):
        return None
    return version


@dataclass(frozen=True)
class Migration:
    """What migrating a spec did."""

    from_version: int
    to_version: int
    renames: tuple[Rename, ...]

    @property
    def changed(self) -> bool:
        """Whether the spec was older than the current version."""
        return self.from_version != self.to_version

    def lines(self) -> list[str]:
        """One line per change, for people."""
        return [rename.describe() for rename in self.renames] + (
            [f"set spec_version: {self.to_version}"] if self.changed else []
        )


def renamed_keys(data: object) -> tuple[Rename, ...]:
    """The keys upgrading ``data`` would rename (none when it cannot be upgraded)."""
    if not isinstance(data, MutableMapping):
        return ()
    try:
        return migrate_data(copy.deepcopy(data)).renames
    except ValueError:
        return ()


def migrate_data(data: MutableMapping[str, t.Any]) -> Migration:
    """Upgrade spec ``data`` (a dict or a ruamel.yaml map) in place.

    Raises:
        ValueError: the spec's version is not a version this tap-builder knows.
    """
    version = version_of(data)
    if version is None or version < 1:
        msg = f"spec_version must be a whole number from 1 to {SPEC_VERSION}"
        raise ValueError(msg)
    if version > SPEC_VERSION:
        msg = (
            f"spec_version {version} is newer than this tap-builder reads (up to "
            f"{SPEC_VERSION}); upgrade tap-builder"
        )
        raise ValueError(msg)
    renames: list[Rename] = []
    for step in range(version, SPEC_VERSION):
        renames += STEPS[step](data)
    if version != SPEC_VERSION:
        if "spec_version" in data:
            data["spec_version"] = SPEC_VERSION
        elif (insert := getattr(data, "insert", None)) is not None:
            insert(0, "spec_version", SPEC_VERSION)
        else:
            items = list(data.items())
            data.clear()
            data.update([("spec_version", SPEC_VERSION), *items])
    return Migration(version, SPEC_VERSION, tuple(renames))


def upgrade(loaded: LoadedSpec) -> tuple[LoadedSpec, int | None, list[SpecIssue]]:
    """``loaded`` as a current-version spec, its version as written, and problems.

    The data is copied, never changed; lines of renamed keys move with them.
    Problems: a version this tap-builder cannot read, or (in a current spec) a
    key a version renamed.
    """
    data = loaded.data
    version = version_of(data)
    if not isinstance(data, MutableMapping) or (
        "spec_version" in data and (version is None or not 1 <= version <= SPEC_VERSION)
    ):
        return loaded, version, _version_problems(loaded)
    if version == SPEC_VERSION:
        return loaded, version, _renamed_keys(loaded)
    upgraded = copy.deepcopy(data)
    migration = migrate_data(upgraded)
    lines = dict(loaded.lines)
    for rename in migration.renames:
        size = len(rename.loc)
        for loc, line in loaded.lines.items():
            if loc[:size] == rename.loc:
                lines[(*rename.new_loc, *loc[size:])] = line
    return replace(loaded, data=upgraded, lines=lines), version, []


def _version_problems(loaded: LoadedSpec) -> list[SpecIssue]:
    """The problem with a spec's ``spec_version`` (none when it has none)."""
    if not isinstance(loaded.data, MutableMapping):
        return []
    try:
        migrate_data(copy.deepcopy(loaded.data))
    except ValueError as exc:
        loc: Loc = ("spec_version",)
        return [SpecIssue(format_path(loc), str(exc), loaded.line_of(loc))]
    return []


def _renamed_keys(loaded: LoadedSpec) -> list[SpecIssue]:
    """Old key names in a current spec (the models accept both spellings)."""
    issues = []
    for loc, pagination in _page_increments(loaded.data):
        for version, old, new in _RENAMED_IN:
            if old in pagination:
                where = (*loc, old)
                message = (
                    f"{old!r} is called {new!r} since spec_version {version}; rename it"
                )
                issues.append(
                    SpecIssue(format_path(where), message, loaded.line_of(where))
                )
    return issues


def migrate_text(text: str, *, is_json: bool) -> tuple[str, Migration]:
    """The spec file's text upgraded to the current version, and what changed.

    YAML keeps its comments, key order and quoting (ruamel.yaml round-trip);
    JSON keeps its key order and is written with two-space indents.

    Raises:
        ValueError: the spec's version is not one this tap-builder knows, or
            the text is not a mapping.
    """
    if is_json:
        data = json.loads(text)
        if not isinstance(data, dict):
            msg = "a spec is a mapping of keys"
            raise ValueError(msg)
        migration = migrate_data(data)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n", migration
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    document = yaml.load(text)
    if not isinstance(document, MutableMapping):
        msg = "a spec is a mapping of keys"
        raise ValueError(msg)
    migration = migrate_data(document)
    if not migration.changed:
        return text, migration
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue(), migration
