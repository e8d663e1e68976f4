"""Load a spec's generated tap into this process, without installing it.

``preview`` and live ``infer-schema`` run the very code ``generate`` writes: the
package is rendered into a temporary folder and imported from there, so what they
show is what the installed tap does.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import typing as t
from contextlib import contextmanager
from pathlib import Path

from tap_builder import render_package
from tap_builder.write import write_package

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

    from tap_builder.validation import Connector


class ConfigError(ValueError):
    """The config given to a preview is missing settings or is not usable."""


def _purge(package: str) -> None:
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]


@contextmanager
def generated_tap(connector: Connector) -> Iterator[ModuleType]:
    """Render the tap, import its ``tap`` module, and clean up afterwards."""
    package = connector.spec.package
    with tempfile.TemporaryDirectory(prefix="tap-builder-preview-") as tmp:
        root = Path(tmp) / "pkg"
        write_package(render_package(connector), root)
        _purge(package)
        sys.path.insert(0, str(root))
        importlib.invalidate_caches()
        try:
            yield importlib.import_module(f"{package}.tap")
        finally:
            sys.path.remove(str(root))
            _purge(package)


def check_config(connector: Connector, config: dict[str, t.Any]) -> None:
    """Fail with one message naming every required setting the config lacks.

    Raises:
        ConfigError: when settings are missing.
    """
    missing = [
        p.name
        for p in connector.spec.parameters
        if p.is_required and config.get(p.name) in (None, "")
    ]
    if missing:
        names = ", ".join(missing)
        msg = f"the config lacks required settings: {names}"
        raise ConfigError(msg)


def tap_class(module: ModuleType) -> type[t.Any]:
    """The Tap subclass a generated ``tap`` module defines."""
    from singer_sdk import Tap

    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Tap) and value is not Tap:
            return value
    msg = f"{module.__name__} defines no Tap class"
    raise LookupError(msg)
