"""tap-builder: turn a declarative REST API spec into a Singer SDK tap.

The public API is the pipeline the command line, and any other front end, runs::

    loaded = load_spec("aircall.yaml")        # file -> data (+ line numbers)
    connector = validate_spec(loaded)         # data -> valid spec, or SpecError
    files = render_package(connector)         # spec -> {path: text}, no I/O
    write_package(files, Path("tap-aircall")) # atomic write
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path, PurePosixPath

from tap_builder import render as _render
from tap_builder.spec import (
    LoadedSpec,
    SpecError,
    SpecIssue,
    load_spec,
    parse_spec_text,
)
from tap_builder.spec.validation import Connector, validate_spec
from tap_builder.write import WriteError, write_package
from tap_builder.write.manifest import Snapshot, custom_module_path, generation_metadata

try:
    __version__ = metadata.version("tap-builder")
except metadata.PackageNotFoundError:  # running from a source checkout
    __version__ = "0.0.0+source"

__all__ = [
    "Connector",
    "LoadedSpec",
    "SpecError",
    "SpecIssue",
    "WriteError",
    "__version__",
    "default_output_dir",
    "generate",
    "load_spec",
    "parse_spec_text",
    "render_package",
    "validate_spec",
    "write_package",
]


def render_package(connector: Connector) -> dict[PurePosixPath, str | bytes]:
    """Every file of the tap package for ``connector``, by relative path."""
    return _render.render_package(connector, __version__)


def default_output_dir(connector: Connector) -> Path:
    """``./tap-<tap_id>``."""
    return Path(connector.spec.distribution)


def generate(
    spec_path: str | Path, out_dir: Path | None = None, *, force: bool = False
) -> tuple[Connector, Path, list[PurePosixPath]]:
    """Load, validate, render and write in one call.

    Raises:
        SpecError: the spec is invalid (nothing is written).
        WriteError: the output folder is not usable (nothing is written).
    """
    loaded = load_spec(spec_path)
    connector = validate_spec(loaded)
    files = render_package(connector)
    custom = custom_module_path(connector.spec.package)
    user_files = {custom: files.pop(custom)}
    target = out_dir or default_output_dir(connector)
    metadata_ = generation_metadata(
        __version__, Snapshot.of(loaded, connector), connector.spec
    )
    written = write_package(
        files, target, force=force, metadata=metadata_, user_files=user_files
    )
    return connector, target, written
