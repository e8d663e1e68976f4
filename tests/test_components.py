"""The component registry: one module per spec type, each complete.

Adding an authentication or pagination type to the spec without a complete
component (model, macro file, class, example spec, preview wording) fails here.
"""

from __future__ import annotations

import ast
import importlib
import typing as t
from pathlib import Path

import pytest
import yaml

from tap_builder.components import (
    ALL_PAGINATORS,
    AUTHENTICATORS,
    PAGINATORS,
    Component,
    auth,
    pagination,
)
from tap_builder.render.environment import environment, templates_dir
from tap_builder.spec import models

ROOT = Path(__file__).parent.parent
RUNTIME = ROOT / "tap_builder" / "runtime"

#: Macro folder (templates/tap/macros/<kind>/) -> the components it writes.
KINDS: dict[str, tuple[Component, ...]] = {
    "auth": tuple(AUTHENTICATORS.values()),
    "pagination": ALL_PAGINATORS,
}


def _type_literals(union: object) -> list[str]:
    """The ``type`` literals of a discriminated union of spec models, in order."""
    members = t.get_args(t.get_args(union)[0])
    return [t.get_args(m.model_fields["type"].annotation)[0] for m in members]


def test_authenticator_registry_is_the_spec_union() -> None:
    """The spec's authentication types are the registry's, in its order."""
    assert _type_literals(models.Authentication) == list(auth.TYPES)
    assert list(AUTHENTICATORS) == list(auth.TYPES)


def test_paginator_registry_is_the_spec_union() -> None:
    """The spec's pagination types are the registry's, in its order."""
    assert _type_literals(models.Pagination) == list(pagination.TYPES)
    assert list(PAGINATORS) == list(pagination.TYPES)


@pytest.mark.parametrize(
    ("package", "folder"),
    [(auth, "auth"), (pagination, "pagination")],
)
def test_every_module_of_a_kind_is_registered(package: object, folder: str) -> None:
    """A type module left out of ``TYPES`` would be dead code: none is."""
    modules = {
        p.stem
        for p in (ROOT / "tap_builder" / "components" / folder).glob("*.py")
        if p.stem not in {"__init__", "model"}
    }
    assert modules == set(package.TYPES)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", KINDS)
def test_every_component_has_its_macro_file(kind: str) -> None:
    """The macro file each component names exists and defines ``code``."""
    for component in KINDS[kind]:
        if not component.macro:
            continue
        module = (
            environment().get_template(f"tap/macros/{kind}/{component.macro}.jinja")
        ).module
        assert callable(getattr(module, "code", None)), component
        if component.defines_class:
            assert callable(getattr(module, "definition", None)), component
            assert callable(getattr(module, "imports", None)), component


def test_no_macro_file_without_a_component() -> None:
    """Every macro file belongs to a registered component."""
    for kind, components in KINDS.items():
        named = {c.macro for c in components if c.macro}
        files = {p.stem for p in (templates_dir() / "tap" / "macros" / kind).glob("*")}
        assert files == named, kind


def _defines(source: str, name: str) -> bool:
    tree = ast.parse(source)
    return any(isinstance(n, ast.ClassDef) and n.name == name for n in tree.body)


@pytest.mark.parametrize("kind", KINDS)
def test_every_component_class_exists(kind: str) -> None:
    """The class each component names is where its module says."""
    for component in KINDS[kind]:
        if not component.class_name:
            assert not component.macro and not component.module
            continue
        if component.defines_class:
            path = (
                templates_dir() / "tap" / "macros" / kind / f"{component.macro}.jinja"
            )
            text = path.read_text(encoding="utf-8")
            assert f"class {component.class_name}(" in text, component
        elif component.in_package:
            source = (RUNTIME / component.runtime_files[0]).read_text(encoding="utf-8")
            assert _defines(source, component.class_name), component
        else:
            sdk = importlib.import_module(component.module)
            assert hasattr(sdk, component.class_name), component
        for needed in component.runtime_files:
            assert (RUNTIME / needed).is_file(), component


@pytest.mark.parametrize(
    ("kind", "type_name"),
    [("authentication", n) for n in AUTHENTICATORS]
    + [("pagination", n) for n in PAGINATORS],
)
def test_every_type_runs_in_its_example_spec(kind: str, type_name: str) -> None:
    """Each type names a sample or feature spec (served by the demo API, synced
    end to end by the suite) that uses it."""
    table = AUTHENTICATORS if kind == "authentication" else PAGINATORS
    example = table[type_name].example
    assert example, type_name
    data = yaml.safe_load((ROOT / example).read_text(encoding="utf-8"))
    if kind == "authentication":
        used = {(data.get("authentication") or {"type": "none"})["type"]}
    else:
        used = {(s.get("pagination") or {}).get("type") for s in data["streams"]}
    assert type_name in used, (type_name, example)


def test_every_paginator_says_why_it_stopped() -> None:
    """``preview`` explains each paginator's end in its own words."""
    for component in ALL_PAGINATORS:
        if component.class_name != "StopWhen":
            assert component.finish_reason, component


def test_macro_files_are_not_package_files() -> None:
    """templates/tap/macros/ holds macros only: no generated file comes from it."""
    from tap_builder.render import _template_names

    names = _template_names()
    assert names
    assert not [n for n in names if n.startswith("tap/macros/")]
