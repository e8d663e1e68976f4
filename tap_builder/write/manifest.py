"""What the manifest remembers besides the files: the spec a package came from.

``generate`` and ``update`` store in the package's manifest (``.tap-builder.json``):

- ``version``: the tap-builder version that rendered the files;
- ``spec_version``: the spec format version of the snapshot;
- ``snapshot``: the spec as validated (upgraded to its ``spec_version``, the
  data as loaded, not the file's text) and each stream's schema as resolved
  (inline, or read from its ``schema_file``), so the files can be rendered again
  without the spec's folder. It holds what the generated code holds already
  (a spec names settings as ``{config.NAME}``; a secret setting has no default):
  no value from a tap's config is ever in it. A local logo's bytes are left out
  (a binary file is never merged); its file suffix is kept;
- ``user_files``: files created once and the user's from then on (``custom.py``);
- ``deleted``: generated files the user deleted, which ``update`` leaves deleted;
- ``conflicts``: files ``update`` wrote with conflict markers, checked by the
  next ``update``.

The files, their SHA-256 and the folders created are the writer's
(:mod:`tap_builder.write.package`).
"""

from __future__ import annotations

import copy
import typing as t
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydantic import ValidationError

from tap_builder.spec import models
from tap_builder.spec.migrations import upgrade

if t.TYPE_CHECKING:
    from tap_builder.spec.loader import LoadedSpec
    from tap_builder.spec.validation import Connector

#: The module in every generated package that belongs to the user.
CUSTOM_MODULE = "custom.py"


def custom_module_path(package: str) -> PurePosixPath:
    """``tap_x/custom.py``: created once, never overwritten."""
    return PurePosixPath(package, CUSTOM_MODULE)


class SnapshotError(ValueError):
    """A manifest's snapshot cannot be read back into a spec."""


@dataclass(frozen=True)
class Snapshot:
    """A spec as a package was generated from it, enough to render it again."""

    spec: dict[str, t.Any]
    schemas: dict[str, dict[str, t.Any]]
    logo_suffix: str | None

    @classmethod
    def of(cls, loaded: LoadedSpec, connector: Connector) -> Snapshot:
        """The snapshot of a spec that validated into ``connector``."""
        upgraded, _, _ = upgrade(loaded)
        suffix = connector.logo_file[1] if connector.logo_file else None
        return cls(
            spec=copy.deepcopy(upgraded.data),
            schemas=copy.deepcopy(connector.schemas),
            logo_suffix=suffix,
        )

    def to_json(self) -> dict[str, t.Any]:
        """The manifest's ``snapshot`` entry."""
        return {
            "spec": self.spec,
            "schemas": self.schemas,
            "logo_suffix": self.logo_suffix,
        }

    @classmethod
    def from_json(cls, data: object) -> Snapshot:
        """Read a manifest's ``snapshot`` entry.

        Raises:
            SnapshotError: it is not a snapshot.
        """
        if not isinstance(data, dict):
            msg = "the snapshot is not a mapping"
            raise SnapshotError(msg)
        spec, schemas = data.get("spec"), data.get("schemas")
        suffix = data.get("logo_suffix")
        if not isinstance(spec, dict) or not isinstance(schemas, dict):
            msg = "the snapshot has no spec or schemas"
            raise SnapshotError(msg)
        if suffix is not None and not isinstance(suffix, str):
            msg = "the snapshot's logo suffix is not text"
            raise SnapshotError(msg)
        return cls(spec=spec, schemas=schemas, logo_suffix=suffix)

    def connector(self) -> Connector:
        """The spec as validated when the package was generated.

        Raises:
            SnapshotError: the models of this tap-builder refuse it.
        """
        from tap_builder.spec.loader import LoadedSpec
        from tap_builder.spec.validation import Connector

        upgraded, _, problems = upgrade(LoadedSpec(copy.deepcopy(self.spec)))
        try:
            spec = models.Spec.model_validate(upgraded.data)
        except ValidationError as exc:
            first = exc.errors()[0]
            msg = f"the snapshot is not a spec this tap-builder reads: {first['msg']}"
            raise SnapshotError(msg) from None
        if problems:
            msg = f"the snapshot is not a spec this tap-builder reads: {problems[0]}"
            raise SnapshotError(msg)
        missing = [s.id for s in spec.streams if s.id not in self.schemas]
        if missing:
            msg = f"the snapshot has no schema for stream {missing[0]!r}"
            raise SnapshotError(msg)
        logo = (b"", self.logo_suffix) if self.logo_suffix else None
        return Connector(
            spec=spec,
            schemas=copy.deepcopy(self.schemas),
            logo_file=logo,
            base_dir=Path(),
        )


def generation_metadata(
    version: str, snapshot: Snapshot, spec: models.Spec
) -> dict[str, t.Any]:
    """The manifest's entries besides the files, for a generation by ``version``."""
    return {
        "generator": "tap-builder",
        "version": version,
        "spec": spec.tap_id,
        "spec_version": spec.spec_version,
        "snapshot": snapshot.to_json(),
    }
