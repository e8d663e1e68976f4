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
from types import SimpleNamespace

from tap_builder import render_package
from tap_builder.write import write_package

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

    from tap_builder.spec.validation import Connector


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


def tap_runtime(package: str) -> SimpleNamespace:
    """The generated tap's own run-time functions that preview and record use.

    They come from the imported package (not from tap-builder), so secrets are
    registered in the very registry the tap's logs and errors consult.
    """
    secrets = importlib.import_module(f"{package}.runtime.secrets")
    variables = importlib.import_module(f"{package}.runtime.variables")
    http = importlib.import_module(f"{package}.runtime.http")
    return SimpleNamespace(
        secret_forms=secrets.secret_forms,
        redact=secrets.redact,
        register_secret=secrets.register_secret,
        register_basic_credentials=secrets.register_basic_credentials,
        render_text=variables.render_text,
        describe_failure=http.describe_failure,
    )
