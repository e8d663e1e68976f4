"""What an import derives: a plan of the spec, each value with why and how sure.

Every derived value carries a :class:`Why`: the operation, parameter or response
field that led to it and a confidence word (``sure``: the document says so;
``likely``: a naming convention the document follows; ``guess``: a convention
the document does not show). The writer turns each into a comment in the spec.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field

from tap_builder.spec.models import SPEC_VERSION

if t.TYPE_CHECKING:
    from tap_builder.openapi.document import Operation

JSON = t.Any
Sure = t.Literal["sure", "likely", "guess"]


@dataclass(frozen=True)
class Why:
    """Why a value was chosen, and how sure the import is."""

    text: str
    sure: Sure = "sure"

    def comment(self) -> str:
        """The comment line: ``text [sure]``."""
        return f"{self.text} [{self.sure}]"


@dataclass
class ParamPlan:
    """A setting the generated tap asks for."""

    name: str
    why: Why
    type: str = "string"
    secret: bool = False
    required: bool = True
    default: JSON = None
    description: str = ""

    def to_spec(self) -> dict[str, JSON]:
        """The ``parameters[]`` entry."""
        out: dict[str, JSON] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.type != "string":
            out["type"] = self.type
        if self.secret:
            out["secret"] = True
        if self.default is not None and not self.secret:
            out["default"] = self.default
        elif not self.required:
            out["required"] = False
        return out


@dataclass
class StreamPlan:
    """One stream derived from one list operation."""

    op: Operation
    id: str
    name: str
    path: str
    selector: str
    item_schema: JSON
    schema: dict[str, JSON]
    method: str = "GET"
    primary_key: list[str] = field(default_factory=list)
    pagination: dict[str, JSON] | None = None
    #: The pagination in the vocabulary of the accuracy tests
    #: (none, page, offset, token, cursor, next_url, link_header).
    kind: str = "none"
    query_params: dict[str, JSON] = field(default_factory=dict)
    headers: dict[str, JSON] = field(default_factory=dict)
    body: JSON = None
    incremental: dict[str, JSON] | None = None
    parent: str | None = None
    #: On a parent: context key -> record field (a name or a ``$`` JSONPath).
    child_context: dict[str, str] = field(default_factory=dict)
    why: dict[str, Why] = field(default_factory=dict)
    verified: str = "not run"
    corrections: list[str] = field(default_factory=list)
    #: Request parameters pagination and filters already use.
    used: set[str] = field(default_factory=set)
    #: The page-size request parameter, if one is sent.
    page_size_param: str | None = None

    @property
    def label(self) -> str:
        """The operation, as comments and reports name it."""
        return self.op.label

    def to_spec(self) -> dict[str, JSON]:
        """The ``streams[]`` entry (schema included inline)."""
        out: dict[str, JSON] = {"name": self.name, "id": self.id, "path": self.path}
        if self.method != "GET":
            out["method"] = self.method
        if self.primary_key:
            keys = self.primary_key
            out["primary_key"] = keys[0] if len(keys) == 1 else list(keys)
        if self.parent:
            out["parent_stream"] = self.parent
        for key in ("query_params", "headers"):
            if value := getattr(self, key):
                out[key] = dict(value)
        if self.body is not None:
            out["body"] = self.body
        if self.pagination:
            out["pagination"] = dict(self.pagination)
        if self.incremental:
            out["incremental"] = dict(self.incremental)
        out["records_selector"] = self.selector
        if self.child_context:
            out["child_context"] = dict(self.child_context)
        out["schema"] = self.schema
        return out


@dataclass(frozen=True)
class Skipped:
    """An operation that did not become a stream, and why."""

    label: str
    reason: str


@dataclass
class ImportPlan:
    """Everything an import derived, ready to be written as a spec."""

    name: str
    tap_id: str
    base_url: str
    why: dict[str, Why] = field(default_factory=dict)
    description: str = ""
    authentication: dict[str, JSON] | None = None
    parameters: list[ParamPlan] = field(default_factory=list)
    streams: list[StreamPlan] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source: str = ""

    def stream(self, stream_id: str) -> StreamPlan | None:
        """The stream called ``stream_id``."""
        return next((s for s in self.streams if s.id == stream_id), None)

    def add_parameter(self, param: ParamPlan) -> str:
        """Declare ``param`` once (first declaration wins); return its name."""
        if not any(p.name == param.name for p in self.parameters):
            self.parameters.append(param)
        return param.name

    def to_spec(self) -> dict[str, JSON]:
        """The whole spec as plain data."""
        out: dict[str, JSON] = {
            "spec_version": SPEC_VERSION,
            "name": self.name,
            "tap_id": self.tap_id,
        }
        if self.description:
            out["description"] = self.description
        out["base_url"] = self.base_url
        if self.authentication:
            out["authentication"] = self.authentication
        if self.parameters:
            out["parameters"] = [p.to_spec() for p in self.parameters]
        out["streams"] = [s.to_spec() for s in self.streams]
        return out


def escape(text: str) -> str:
    """A literal string in the spec's variable syntax (``{`` -> ``{{``)."""
    return text.replace("{", "{{").replace("}", "}}")


def escape_strings(value: JSON) -> JSON:
    """``value`` with every string (not keys) escaped for the variable syntax."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, dict):
        return {k: escape_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_strings(v) for v in value]
    return value


# --------------------------------------------------------------------------- #
# Names
# --------------------------------------------------------------------------- #


def snake(text: str) -> str:
    """``AccountSid`` -> ``account_sid``; ``medical-forms`` -> ``medical_forms``."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    if not text:
        return "item"
    return f"_{text}" if text[0].isdigit() else text


def singular(word: str) -> str:
    """A simple English singular (``entries`` -> ``entry``, ``sites`` -> ``site``)."""
    lower = word.lower()
    if lower.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if lower.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def normal(name: str) -> str:
    """A name reduced to lower-case letters and digits, for loose matching."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def title(stream_id: str) -> str:
    """``medical_forms`` -> ``Medical Forms``."""
    return " ".join(w.capitalize() for w in stream_id.strip("_").split("_")) or "Items"
