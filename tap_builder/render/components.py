"""The component registry: every authentication and pagination type in one place.

Each spec ``type`` literal maps to the Jinja macro that writes its code
(``templates/tap/macros/<kind>.jinja``) and the class that code builds, with the
module it is imported from. The context and the templates look components up
here; a test keeps the keys equal to the spec models' ``type`` literals, and
every macro named here must exist in its macro file.
"""

from __future__ import annotations

from dataclasses import dataclass

#: A module starting with this is inside the generated package.
IN_PACKAGE = "."
_RUNTIME_PREFIX = ".runtime."


@dataclass(frozen=True)
class Component:
    """One kind of authenticator or paginator in the generated code."""

    #: Macro in ``templates/tap/macros/<kind>.jinja`` that writes the code
    #: ("": the component writes no code).
    macro: str
    #: The SDK or run-time class the code builds ("": none).
    class_name: str = ""
    #: Where the class is imported from: a module path, or one inside the
    #: generated package when it starts with a dot (``.runtime.auth``).
    module: str = ""
    #: The code builds it through a helper: the class only annotates.
    annotation_only: bool = False
    #: Run-time modules (file names) the class needs besides its own module.
    also_needs: tuple[str, ...] = ()

    @property
    def in_package(self) -> bool:
        """Whether the class comes from the generated package (not the SDK)."""
        return self.module.startswith(IN_PACKAGE)

    def import_module(self, package: str) -> str:
        """The absolute module to import the class from in ``package``."""
        return package + self.module if self.in_package else self.module

    @property
    def runtime_files(self) -> tuple[str, ...]:
        """The generated package's run-time modules this component needs."""
        own = self.module.removeprefix(_RUNTIME_PREFIX)
        found = (f"{own}.py",) if self.module.startswith(_RUNTIME_PREFIX) else ()
        return found + self.also_needs


@dataclass(frozen=True)
class PaginatorComponent(Component):
    """A paginator, and where the stream puts the token it produces."""

    #: The spec field naming the parameter, header or body path that carries the
    #: token (placed by the spec's ``location``). None: the token is the next
    #: page's URL, which the request follows.
    param_field: str | None = None
    #: (spec field, component): the component used instead when the field is set.
    variant: tuple[str, Component] | None = None


_SDK_AUTH = "singer_sdk.authenticators"
_RUNTIME_AUTH = ".runtime.auth"

#: Spec ``authentication.type`` -> its component.
AUTHENTICATORS: dict[str, Component] = {
    "api_key": Component("api_key", "APIKeyAuthenticator", _SDK_AUTH),
    "basic": Component("basic", "BasicAuthenticator", _SDK_AUTH, annotation_only=True),
    "bearer": Component("bearer", "BearerTokenAuthenticator", _SDK_AUTH),
    "headers": Component("headers", "HeadersAuthenticator", _RUNTIME_AUTH),
    "oauth2": Component("oauth2", "OAuth2Authenticator", _RUNTIME_AUTH),
    "session": Component("session", "SessionAuthenticator", _RUNTIME_AUTH),
    "none": Component(""),
}

_SDK_PAGING = "singer_sdk.pagination"
#: The generated package's own pagination.py (templates/tap/{{package}}/).
PACKAGE_PAGINATION = ".pagination"
_RUNTIME_PAGING = ".runtime.paging"

#: ``offset`` pagination whose next offset is read from the response (the class
#: in the package's pagination.py subclasses one of the run-time).
NEXT_OFFSET = Component(
    "next_offset", "NextOffsetPaginator", PACKAGE_PAGINATION, also_needs=("paging.py",)
)

#: Spec ``pagination.type`` -> its component.
PAGINATORS: dict[str, PaginatorComponent] = {
    "page_increment": PaginatorComponent(
        "page_increment", "PageNumberPaginator", _SDK_PAGING, param_field="attribute"
    ),
    "offset": PaginatorComponent(
        "offset",
        "LimitOffsetPaginator",
        PACKAGE_PAGINATION,
        param_field="offset_param",
        variant=("next_offset_selector", NEXT_OFFSET),
    ),
    "cursor": PaginatorComponent(
        "cursor", "CursorPaginator", _RUNTIME_PAGING, param_field="param"
    ),
    "next_url": PaginatorComponent("next_url", "NextUrlPaginator", _RUNTIME_PAGING),
    "link_header": PaginatorComponent(
        "link_header", "NextUrlPaginator", _RUNTIME_PAGING
    ),
}

#: The wrapper that applies stop rules (``has_more``, ``max_pages``...) to any type.
STOP_WHEN = Component("stop_when", "StopWhen", _RUNTIME_PAGING)

#: Every paginator component: the ones spec types choose between and the wrapper.
ALL_PAGINATORS: tuple[Component, ...] = (
    *PAGINATORS.values(),
    NEXT_OFFSET,
    STOP_WHEN,
)
