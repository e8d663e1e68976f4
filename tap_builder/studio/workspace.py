"""The studio's state: the folder it works in, the open spec, the test config.

Files are opened, created, saved and published only inside the workspace
folder (the folder of the spec the studio was started with, or the current
one): a path that leads outside it, symbolic links resolved, is refused. The
test config lives in memory only: never in the spec, a file or a log.
"""

from __future__ import annotations

import difflib
import io
import json
import stat
import threading
import typing as t
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from tap_builder import __version__, render_package, write_package
from tap_builder.runtime.variables import variables_in
from tap_builder.spec.files import SpecFileError, atomic_write, confined_path
from tap_builder.studio.document import Analysis, analyse, apply_ops, is_json

if t.TYPE_CHECKING:
    from tap_builder.spec.validation import Connector


class StudioError(ValueError):
    """A request the studio cannot do; the message is shown to the user."""


@dataclass
class OpenSpec:
    """The spec being edited: its file, its current text, and what was saved."""

    path: Path
    text: str
    saved_text: str

    @property
    def json_format(self) -> bool:
        """Whether it is a JSON spec."""
        return is_json(self.path)


@dataclass
class Workspace:
    """Everything one studio holds between requests."""

    root: Path
    spec: OpenSpec | None = None
    config: dict[str, t.Any] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    # ------------------------------------------------------------- files ---

    def path_of(self, name: str, what: str) -> Path:
        """``name`` (relative to the workspace) as a real path inside it."""
        if not name.strip():
            msg = f"give the {what}'s file name"
            raise StudioError(msg)
        try:
            return confined_path(self.root, name, what)
        except SpecFileError as exc:
            msg = str(exc).replace("spec's folder", "studio's folder")
            raise StudioError(msg) from None

    def relative(self, path: Path) -> str:
        """``path`` as shown: relative to the workspace."""
        return str(path.relative_to(self.root.resolve()))

    def open(self, name: str) -> Analysis:
        """Open the spec file ``name``."""
        path = self.path_of(name, "spec")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"cannot read {name}: {getattr(exc, 'strerror', None) or exc}"
            raise StudioError(msg) from None
        with self.lock:
            self.spec = OpenSpec(path, text, text)
            return analyse(text, path)

    def create(self, name: str, text: str) -> Analysis:
        """Write a new spec file ``name`` (refusing to replace one) and open it."""
        path = self.path_of(name, "spec")
        if path.exists():
            msg = f"{name} exists; open it, or give another file name"
            raise StudioError(msg)
        atomic_write(path, text.encode("utf-8"))
        return self.open(name)

    def save(self) -> Path:
        """Write the current text to the spec file, atomically."""
        spec = self.current()
        real = spec.path.resolve()
        mode = stat.S_IMODE(real.stat().st_mode) if real.exists() else 0o644
        try:
            atomic_write(real, spec.text.encode("utf-8"), mode)
        except OSError as exc:
            msg = f"cannot write {spec.path}: {exc.strerror or exc}; it was left as is"
            raise StudioError(msg) from None
        spec.saved_text = spec.text
        return spec.path

    def current(self) -> OpenSpec:
        """The open spec."""
        if self.spec is None:
            msg = "no spec is open: open one or create one on Start"
            raise StudioError(msg)
        return self.spec

    # -------------------------------------------------------------- text ---

    def set_text(self, text: str) -> Analysis:
        """Replace the text (the YAML/JSON pane) and analyse it."""
        with self.lock:
            spec = self.current()
            spec.text = text
            return analyse(text, spec.path)

    def edit(self, ops: list[dict[str, t.Any]]) -> Analysis:
        """Apply form operations to the text and analyse the result."""
        with self.lock:
            spec = self.current()
            spec.text = apply_ops(spec.text, ops, json_format=spec.json_format)
            return analyse(spec.text, spec.path)

    def analysis(self) -> Analysis:
        """The current text, analysed."""
        spec = self.current()
        return analyse(spec.text, spec.path)

    def connector(self) -> Connector:
        """The current spec, validated; refused while it has problems."""
        result = self.analysis()
        if result.connector is None:
            count = len(result.issues)
            plural = "s" if count != 1 else ""
            msg = f"the spec has {count} problem{plural}; fix them first"
            raise StudioError(msg)
        return result.connector

    # ------------------------------------------------------------ config ---

    def secret_names(self) -> set[str]:
        """Settings never sent back to the page: secret ones and auth ones."""
        if self.spec is None:  # nothing says which are secret: hide them all
            return set(self.config)
        data = self.analysis().data or {}
        names = {
            p.get("name")
            for p in data.get("parameters") or []
            if isinstance(p, dict) and p.get("secret")
        }
        auth = data.get("authentication")
        if isinstance(auth, dict):
            names |= {v.name for v in _safe_variables(auth) if v.from_config}
        return {n for n in names if isinstance(n, str)}

    def set_config(self, values: dict[str, t.Any]) -> None:
        """Update the test config; an empty value removes the setting."""
        with self.lock:
            for name, value in values.items():
                if value in ("", None):
                    self.config.pop(name, None)
                else:
                    self.config[name] = value

    def config_view(self) -> dict[str, t.Any]:
        """The config as the page sees it: secrets only as ``{"set": true}``."""
        hidden = self.secret_names()
        return {
            name: {"set": True} if name in hidden else {"value": value}
            for name, value in self.config.items()
        }

    # ----------------------------------------------------------- publish ---

    def publish(self, folder: str, *, force: bool) -> tuple[Connector, Path, int]:
        """Write the tap package into ``folder`` (inside the workspace)."""
        connector = self.connector()
        target = self.path_of(folder or connector.spec.distribution, "output folder")
        metadata = {
            "generator": "tap-builder",
            "version": __version__,
            "spec": connector.spec.tap_id,
        }
        written = write_package(
            render_package(connector), target, force=force, metadata=metadata
        )
        return connector, target, len(written)

    def package_zip(self) -> tuple[str, bytes]:
        """The tap package as a zip file: its name and bytes."""
        connector = self.connector()
        root = connector.spec.distribution
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, content in sorted(render_package(connector).items()):
                info = zipfile.ZipInfo(
                    f"{root}/{path}", date_time=(2024, 1, 1, 0, 0, 0)
                )
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                data = content.encode("utf-8") if isinstance(content, str) else content
                archive.writestr(info, data)
        return f"{root}.zip", buffer.getvalue()


def _safe_variables(value: object) -> list[t.Any]:
    try:
        return list(variables_in(value))
    except ValueError:  # a malformed brace: validation reports it
        return []


def schema_diff(old: object, new: dict[str, t.Any]) -> dict[str, t.Any]:
    """What applying ``new`` changes: fields added, removed, changed; a text diff."""
    old_props = _properties(old)
    new_props = _properties(new)
    lines = difflib.unified_diff(
        _dump(old).splitlines(),
        _dump(new).splitlines(),
        "current schema",
        "inferred schema",
        lineterm="",
    )
    return {
        "added": sorted(set(new_props) - set(old_props)),
        "removed": sorted(set(old_props) - set(new_props)),
        "changed": sorted(
            name
            for name in set(old_props) & set(new_props)
            if old_props[name] != new_props[name]
        ),
        "text": "\n".join(lines),
    }


def _properties(schema: object) -> dict[str, t.Any]:
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        return dict(schema["properties"])
    return {}


def _dump(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) if value else ""
