"""What a component is: one authentication or pagination type, whole.

A component module holds everything about its type: the pydantic model of its
spec block, its cross-field checks, the Jinja macro file that writes its code
(``templates/tap/macros/<kind>/<macro>.jinja``), the class that code builds and
where it comes from (the SDK, the run-time modules, or the package's own
``pagination.py``), what ``preview`` says of it, and the sample or feature spec
(served by the demo API) that runs it end to end.
"""

from __future__ import annotations

import builtins
import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pydantic import BaseModel

    from tap_builder.spec.fields import Found, Loc

#: A module starting with this is inside the generated package.
IN_PACKAGE = "."
RUNTIME_PREFIX = ".runtime."
#: Where the SDK's authenticators and paginators come from.
SDK_AUTH = "singer_sdk.authenticators"
SDK_PAGING = "singer_sdk.pagination"
#: The generated package's run-time modules for authentication and pagination.
RUNTIME_AUTH = ".runtime.auth"
RUNTIME_PAGING = ".runtime.paging"
#: The generated package's own ``pagination.py``: classes a component defines.
PACKAGE_PAGINATION = ".pagination"


def no_problems(block: t.Any, loc: Loc) -> Iterator[Found]:  # noqa: ANN401
    """The checks of a component with none beyond its model's fields."""
    del block, loc
    return iter(())


@dataclass(frozen=True)
class Component:
    """One kind of authenticator or paginator in the generated code."""

    #: The spec's ``type`` literal ("": a helper other components use).
    type: str
    #: Macro file ``templates/tap/macros/<kind>/<macro>.jinja``; its ``code``
    #: macro writes the expression, its optional ``definition`` macro a class
    #: for the package's own module ("": the component writes no code).
    macro: str
    #: The SDK or run-time class the code builds ("": none).
    class_name: str = ""
    #: Where the class is imported from: a module path, or one inside the
    #: generated package when it starts with a dot (``.runtime.auth``).
    module: str = ""
    #: The pydantic model of the spec block (None: a helper).
    model: builtins.type[BaseModel] | None = None
    #: The code builds it through a helper: the class only annotates.
    annotation_only: bool = False
    #: Run-time modules (file names) the class needs besides its own module.
    also_needs: tuple[str, ...] = ()
    #: Cross-field checks of the spec block: (block, its location) -> problems.
    problems: Callable[[t.Any, Loc], Iterator[Found]] = no_problems
    #: The sample or feature spec that runs this type end to end (demo API).
    example: str = ""
    #: What ``preview`` says when this paginator ends paging ("": a generic line).
    finish_reason: str = ""

    @property
    def in_package(self) -> bool:
        """Whether the class comes from the generated package (not the SDK)."""
        return self.module.startswith(IN_PACKAGE)

    @property
    def defines_class(self) -> bool:
        """Whether the component writes its class into the package's module."""
        return self.module == PACKAGE_PAGINATION

    def import_module(self, package: str) -> str:
        """The absolute module to import the class from in ``package``."""
        return package + self.module if self.in_package else self.module

    @property
    def runtime_files(self) -> tuple[str, ...]:
        """The generated package's run-time modules this component needs."""
        own = self.module.removeprefix(RUNTIME_PREFIX)
        found = (f"{own}.py",) if self.module.startswith(RUNTIME_PREFIX) else ()
        return found + self.also_needs


def no_text(block: t.Any) -> Iterator[tuple[Loc, object]]:  # noqa: ANN401
    """No spec text of the block goes into a request header."""
    del block
    return iter(())


def no_pairs(block: t.Any) -> Iterator[tuple[str, str]]:  # noqa: ANN401
    """The block sends no Basic credentials."""
    del block
    return iter(())


@dataclass(frozen=True)
class AuthComponent(Component):
    """An authentication type."""

    #: Spec text of the block that becomes a header value, with its location
    #: inside the block (checked for line breaks).
    header_text: Callable[[t.Any], Iterator[tuple[Loc, object]]] = no_text
    #: (user, password) templates it sends as HTTP Basic credentials (so
    #: ``preview`` and ``record`` can mask every encoding of them).
    basic_credentials: Callable[[t.Any], Iterator[tuple[str, str]]] = no_pairs
    #: Optional built-in settings the block adds to the tap (by name).
    settings: Callable[[t.Any], tuple[str, ...]] = lambda block: ()
    #: Packages the generated tap then depends on (its run-time library).
    requirements: tuple[str, ...] = ()
    #: Type stubs of those packages, for the generated tap's ``test`` extra.
    stub_requirements: tuple[str, ...] = ()


@dataclass(frozen=True)
class PaginatorComponent(Component):
    """A paginator, and where the stream puts the token it produces."""

    #: The spec field naming the parameter, header or body path that carries the
    #: token (placed by the spec's ``location``). None: the token is the next
    #: page's URL, which the request follows.
    param_field: str | None = None
    #: (spec field, component): the component used instead when the field is set.
    variant: tuple[str, Component] | None = None
    #: The stream's own run-time mixin puts the token in the request (a
    #: GraphQL variable), so neither a parameter nor the next URL carries it.
    token_in_stream: bool = False
