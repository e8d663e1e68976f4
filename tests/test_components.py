"""The component registry: one entry per spec type, each with a macro and a class.

Adding an authentication or pagination type to the spec models without a
registry entry, or naming a macro or class that does not exist, fails here.
"""

from __future__ import annotations

import ast
import importlib
import typing as t
from pathlib import Path

import pytest

from tap_builder.render.components import (
    ALL_PAGINATORS,
    AUTHENTICATORS,
    PACKAGE_PAGINATION,
    PAGINATORS,
    Component,
)
from tap_builder.render.environment import environment, templates_dir
from tap_builder.spec import models

RUNTIME = Path(__file__).parent.parent / "tap_builder" / "runtime"

#: Macro file (templates/tap/macros/<kind>.jinja) -> the components it writes.
KINDS: dict[str, tuple[Component, ...]] = {
    "auth": tuple(AUTHENTICATORS.values()),
    "pagination": ALL_PAGINATORS,
}


def _type_literals(union: object) -> set[str]:
    """The ``type`` literals of a discriminated union of spec models."""
    members = t.get_args(t.get_args(union)[0])
    return {t.get_args(m.model_fields["type"].annotation)[0] for m in members}


def test_authenticator_registry_matches_spec_types() -> None:
    """Each authentication type of the spec models has an entry, and no more."""
    assert set(AUTHENTICATORS) == _type_literals(models.Authentication)


def test_paginator_registry_matches_spec_types() -> None:
    """Each pagination type of the spec models has an entry, and no more."""
    assert set(PAGINATORS) == _type_literals(models.Pagination)


@pytest.mark.parametrize("kind", KINDS)
def test_every_component_has_its_macro(kind: str) -> None:
    """The macro each component names is defined in its kind's macro file."""
    module = environment().get_template(f"tap/macros/{kind}.jinja").module
    for component in KINDS[kind]:
        if component.macro:
            assert callable(getattr(module, component.macro, None)), component


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
        if component.module == PACKAGE_PAGINATION:
            template = templates_dir() / "tap" / "{{package}}" / "pagination.py.jinja"
            text = template.read_text(encoding="utf-8")
            assert f"class {component.class_name}(" in text, component
        elif component.in_package:
            source = (RUNTIME / component.runtime_files[0]).read_text(encoding="utf-8")
            assert _defines(source, component.class_name), component
        else:
            sdk = importlib.import_module(component.module)
            assert hasattr(sdk, component.class_name), component
        for needed in component.runtime_files:
            assert (RUNTIME / needed).is_file(), component


def test_macro_files_are_not_package_files() -> None:
    """templates/tap/macros/ holds macros only: no generated file comes from it."""
    from tap_builder.render import _template_names

    names = _template_names()
    assert names
    assert not [n for n in names if n.startswith("tap/macros/")]
