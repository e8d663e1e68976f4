"""``tap-builder migrate SPEC``: rewrite a spec in the current format version.

The file is read as validation reads it (bounded, only JSON values), upgraded by
the steps of :mod:`tap_builder.spec.migrations` (YAML keeps its comments, order
and quoting), checked to hold exactly the data the in-memory upgrade gives, and
replaced atomically. Nothing else in the spec changes.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from pathlib import Path

from tap_builder.commands.spec_edit import replace_user_file
from tap_builder.spec.errors import SpecError, SpecIssue
from tap_builder.spec.files import SpecFileError
from tap_builder.spec.loader import load_spec, parse_spec_text
from tap_builder.spec.migrations import Migration, migrate_data, migrate_text
from tap_builder.write.package import WriteError


class MigrateError(WriteError):
    """The spec cannot be migrated; it was left as it was."""


@dataclass(frozen=True)
class Migrated:
    """A migrated spec: its text before and after, and what changed."""

    path: Path
    before: str
    after: str
    migration: Migration

    def diff(self) -> str:
        """The change as a unified diff (empty when nothing changed)."""
        name = str(self.path)
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=name,
                tofile=f"{name} (spec_version {self.migration.to_version})",
            )
        )


def migrate_spec(path: Path, *, dry_run: bool = False) -> Migrated:
    """Upgrade the spec file at ``path`` to the current ``spec_version``.

    Raises:
        SpecError: the file cannot be read as a spec.
        MigrateError: its version is unknown, or the rewrite would change data
            the migration does not mean to change (nothing is written).
    """
    loaded = load_spec(path)
    if not isinstance(loaded.data, dict):
        msg = f"{path} does not hold a mapping of spec keys"
        raise MigrateError(msg)
    before = path.read_text(encoding="utf-8")
    is_json = path.suffix.lower() == ".json"
    try:
        after, migration = migrate_text(before, is_json=is_json)
        expected = copy.deepcopy(loaded.data)
        migrate_data(expected)
    except ValueError as exc:
        raise SpecError([SpecIssue("spec_version", str(exc))], str(path)) from None
    if migration.changed:
        written = parse_spec_text(after, path).data
        if written != expected:
            msg = (
                f"{path} changed while it was read, or holds YAML that does not "
                "round-trip; it was left as it was"
            )
            raise MigrateError(msg)
        if not dry_run:
            try:
                replace_user_file(path, after.encode("utf-8"))
            except SpecFileError as exc:
                raise MigrateError(str(exc)) from None
    return Migrated(path, before, after, migration)
