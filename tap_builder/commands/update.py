"""``tap-builder update SPEC [PACKAGE]``: merge a spec change into an edited tap.

The package's manifest holds the spec it was generated from (a snapshot) and the
tap-builder version that rendered it. The snapshot is rendered again (with this
tap-builder's templates, as that version), the new spec is rendered, and the
difference goes into the package's files by a three-way merge
(:mod:`tap_builder.write.update`). ``custom.py`` is never touched.
"""

from __future__ import annotations

import ast
import stat
import typing as t
from dataclasses import dataclass
from pathlib import Path

from tap_builder import __version__, default_output_dir, load_spec, validate_spec
from tap_builder.render import render_package
from tap_builder.write.manifest import (
    Snapshot,
    SnapshotError,
    custom_module_path,
    generation_metadata,
)
from tap_builder.write.update import (
    UpdateError,
    UpdatePlan,
    apply_update,
    plan_update,
    read_package_manifest,
)

if t.TYPE_CHECKING:
    from tap_builder.spec.validation import Connector

__all__ = ["UpdateError", "Updated", "update_package"]


@dataclass(frozen=True)
class Updated:
    """An update, planned (and applied unless a dry run)."""

    target: Path
    plan: UpdatePlan
    #: Classes the spec names that custom.py does not define.
    missing_custom: tuple[str, ...]
    from_version: str

    def lines(self) -> list[str]:
        """One line per file changed, then notices."""
        out = [f"{c.action:<9}{c.path}" for c in self.plan.changes]
        out += self.plan.notices
        custom = custom_path_text(self.plan)
        out += [
            f"define {name} in {custom}: the spec names it (custom)"
            for name in self.missing_custom
        ]
        return out


def custom_path_text(plan: UpdatePlan) -> str:
    """The user's module, as update names it."""
    created = [c.path for c in plan.changes if c.action == "created"]
    return str(created[0]) if created else "custom.py"


def update_package(
    spec_path: Path, out_dir: Path | None = None, *, dry_run: bool = False
) -> Updated:
    """Merge the spec at ``spec_path`` into the package at ``out_dir``.

    Raises:
        SpecError: the spec is invalid (nothing is written).
        UpdateError: the package cannot be updated (nothing is written).
    """
    loaded = load_spec(spec_path)
    connector = validate_spec(loaded)
    target, manifest = read_package_manifest(out_dir or default_output_dir(connector))
    try:
        old_connector = Snapshot.from_json(manifest.snapshot).connector()
    except SnapshotError as exc:
        msg = f"cannot read the spec {target} was generated from: {exc}"
        raise UpdateError(msg) from None
    old_files = render_package(old_connector, manifest.version)
    new_files = render_package(connector, __version__)
    old_files.pop(custom_module_path(old_connector.spec.package), None)
    custom = custom_module_path(connector.spec.package)
    user_files = {custom: new_files.pop(custom)}
    metadata = generation_metadata(
        __version__, Snapshot.of(loaded, connector), connector.spec
    )
    plan = plan_update(target, manifest, old_files, new_files, user_files, metadata)
    if plan.problems:
        raise UpdateError(plan.problems)
    if not dry_run:
        apply_update(plan)
    missing = _missing_custom(target / custom, connector, plan)
    return Updated(target, plan, missing, manifest.version)


def _missing_custom(
    path: Path, connector: Connector, plan: UpdatePlan
) -> tuple[str, ...]:
    """Classes the spec names that the user's custom.py does not define."""
    spec = connector.spec
    named = {
        s.custom.paginator for s in spec.streams if s.custom and s.custom.paginator
    }
    if spec.custom and spec.custom.authenticator:
        named.add(spec.custom.authenticator)
    if not named or any(c.action == "created" for c in plan.changes):
        return ()
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode):
            return tuple(sorted(named))
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return tuple(sorted(named))
    defined = (
        {
            node.name
            for node in tree.body
            if isinstance(node, ast.ClassDef | ast.FunctionDef)
        }
        | {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for target in (
                node.targets if isinstance(node, ast.Assign) else [node.target]
            )
            if isinstance(target, ast.Name)
        }
        | {
            alias.asname or alias.name
            for node in tree.body
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
    )
    return tuple(sorted(named - defined))
