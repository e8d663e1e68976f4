"""The component registry: every authentication and pagination type in one place.

Each type is one module of :mod:`tap_builder.components.auth` or
:mod:`tap_builder.components.pagination` (listed in that package's ``TYPES``):
its spec model, its cross-field checks, the macro file that writes its code,
the class that code builds, its ``preview`` wording and the spec that runs it
against the demo API. The spec's unions, the checks, the renderer and
``preview`` all read these tables; tests hold every entry complete.
"""

from __future__ import annotations

import importlib
import typing as t

from tap_builder.components import auth, pagination
from tap_builder.components.base import (
    RUNTIME_PAGING,
    AuthComponent,
    Component,
    PaginatorComponent,
)

if t.TYPE_CHECKING:
    from types import ModuleType

_T = t.TypeVar("_T", bound=Component)


def _load(package: ModuleType, kind: type[_T]) -> dict[str, _T]:
    found: dict[str, _T] = {}
    for name in package.TYPES:
        module = importlib.import_module(f"{package.__name__}.{name}")
        component = module.COMPONENT
        if not isinstance(component, kind) or component.type != name:
            msg = f"{module.__name__}.COMPONENT must be a {kind.__name__} of {name!r}"
            raise TypeError(msg)
        found[name] = component
    return found


#: Spec ``authentication.type`` -> its component.
AUTHENTICATORS: dict[str, AuthComponent] = _load(auth, AuthComponent)
#: Spec ``pagination.type`` -> its component.
PAGINATORS: dict[str, PaginatorComponent] = _load(pagination, PaginatorComponent)

#: The wrapper that applies stop rules (``has_more``, ``max_pages``...) to any type.
STOP_WHEN = Component(
    type="", macro="stop_when", class_name="StopWhen", module=RUNTIME_PAGING
)

#: Every paginator component: the ones spec types choose between, their
#: variants and the wrapper.
ALL_PAGINATORS: tuple[Component, ...] = (
    *PAGINATORS.values(),
    *(c.variant[1] for c in PAGINATORS.values() if c.variant),
    STOP_WHEN,
)


def finish_reason(class_name: str) -> str | None:
    """What ``preview`` says when a paginator of this class ends paging."""
    for component in ALL_PAGINATORS:
        if component.class_name == class_name and component.finish_reason:
            return component.finish_reason
    return None


__all__ = [
    "ALL_PAGINATORS",
    "AUTHENTICATORS",
    "PAGINATORS",
    "STOP_WHEN",
    "AuthComponent",
    "Component",
    "PaginatorComponent",
    "finish_reason",
]
