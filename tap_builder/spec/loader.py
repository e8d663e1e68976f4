"""Read a spec file (YAML or JSON) into plain data plus the line of every field.

A spec is untrusted input, so reading it is bounded: the file must be a regular
file of at most :data:`MAX_SPEC_BYTES`, nesting is at most :data:`MAX_DEPTH`
levels, YAML aliases may repeat at most :data:`MAX_ALIAS_VALUES` values in all,
and only JSON values get through (strings, finite numbers, booleans, null, lists
and mappings with string keys, each key once). Every refusal is a
:class:`SpecError` naming the field and line.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tap_builder.spec.errors import SpecError, SpecIssue, format_path

Loc = tuple[str | int, ...]

#: The largest spec file read, in bytes (the text of a 100-stream spec is ~100 kB).
MAX_SPEC_BYTES = 5_000_000
#: The deepest nesting of lists and mappings (the spec itself is a level).
MAX_DEPTH = 64
#: How many values YAML aliases may repeat, in all ("billion laughs" guard).
MAX_ALIAS_VALUES = 100_000
#: Python's limit on the digits of an integer read from text.
MAX_INT_DIGITS = 4300

_TOO_DEEP = (
    f"nested deeper than {MAX_DEPTH} levels of lists and mappings; a spec needs "
    "far fewer"
)


@dataclass(frozen=True)
class LoadedSpec:
    """A spec file's data, where it came from, and the line of each field."""

    data: t.Any
    path: Path | None = None
    lines: dict[Loc, int] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        """Directory that relative paths in the spec (``schema_file``) start from."""
        return self.path.parent if self.path else Path.cwd()

    @property
    def source(self) -> str | None:
        """The file name to show in messages."""
        return str(self.path) if self.path else None

    def line_of(self, loc: Loc) -> int | None:
        """Line of ``loc``, or of its nearest ancestor that has one."""
        for end in range(len(loc), -1, -1):
            if (line := self.lines.get(loc[:end])) is not None:
                return line
        return None


class _RefusedError(Exception):
    """The text cannot become spec data; carries the issues found."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(issue.message for issue in issues))


def _issue(loc: Loc | None, message: str, line: int | None) -> SpecIssue:
    return SpecIssue(format_path(loc or ()), message, line)


# --------------------------------------------------------------------------- #
# YAML: composed from parser events, so nesting, aliases and tags are checked
# before anything is built
# --------------------------------------------------------------------------- #

#: libyaml's parser when PyYAML has it (about ten times faster), else pure Python.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_YAML = "tag:yaml.org,2002:"
_STR, _SEQ, _MAP = f"{_YAML}str", f"{_YAML}seq", f"{_YAML}map"
_SCALARS = {_STR, f"{_YAML}int", f"{_YAML}float", f"{_YAML}bool", f"{_YAML}null"}
#: What a resolved tag reads as, for messages.
_KINDS = {
    f"{_YAML}int": "an integer",
    f"{_YAML}float": "a number",
    f"{_YAML}bool": "a boolean",
    f"{_YAML}null": "null",
    f"{_YAML}timestamp": "a date",
    f"{_YAML}binary": "binary data",
    f"{_YAML}value": "a YAML special value",
}
_ONLY_JSON = "a spec holds only strings, numbers, booleans, null, lists and mappings"


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_YAML) if tag.startswith(_YAML) else tag


def _line(mark: t.Any) -> int:  # noqa: ANN401 (yaml.Mark, C or Python)
    return int(mark.line) + 1


@dataclass(slots=True)
class _Open:
    """A list or mapping being composed."""

    node: yaml.SequenceNode | yaml.MappingNode
    #: Its field location; None inside a (refused) list or mapping used as a key.
    loc: Loc | None
    anchor: str | None
    #: Values in it, aliases expanded (itself included).
    size: int = 1
    #: A mapping's key waiting for its value, the key's text and line.
    key: yaml.Node | None = None
    key_text: str | None = None
    key_line: int = 0
    #: A mapping's keys so far, with their lines.
    keys: dict[str, int] = field(default_factory=dict)


class _Composer:
    """Build the node tree from parser events, without recursion.

    On the way it records the line of every field, refuses nesting deeper than
    :data:`MAX_DEPTH`, aliases that would repeat more than
    :data:`MAX_ALIAS_VALUES` values (or an alias inside the value it names), and
    collects an issue for each key that is not a string, each duplicate key and
    each value that is not JSON (dates, binary, sets, unknown tags).
    """

    def __init__(self, loader: yaml.SafeLoader, lines: dict[Loc, int]) -> None:
        #: The parser's methods are untyped (libyaml's C extension).
        self.loader: t.Any = loader
        self.lines = lines
        self.issues: list[SpecIssue] = []
        self.duplicates: list[SpecIssue] = []
        self.anchors: dict[str, tuple[yaml.Node, int]] = {}
        self.open_anchors: set[str] = set()
        self.alias_values = 0
        self.stack: list[_Open] = []
        self.root: yaml.Node | None = None

    def compose(self) -> yaml.Node | None:
        """The single document's root node (None for an empty stream)."""
        loader = self.loader
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            loader.get_event()
            return None
        start = loader.get_event()  # document start
        handlers = {
            yaml.ScalarEvent: self._scalar,
            yaml.AliasEvent: self._alias,
            yaml.SequenceStartEvent: self._start,
            yaml.MappingStartEvent: self._start,
            yaml.SequenceEndEvent: self._end,
            yaml.MappingEndEvent: self._end,
        }
        get_event = loader.get_event
        while self.root is None:  # set when the document's root node ends
            event = get_event()
            handlers[type(event)](event)
        loader.get_event()  # document end
        if not loader.check_event(yaml.StreamEndEvent):
            event = loader.get_event()
            msg = "expected a single document in the stream"
            raise yaml.composer.ComposerError(
                msg,
                start.start_mark,
                "but found another document",
                event.start_mark,
            )
        loader.get_event()
        return self.root

    # -- where the next node goes ------------------------------------------- #

    def _place(self, event: t.Any) -> tuple[Loc | None, int, bool]:  # noqa: ANN401
        """The next node's location and line, and whether it is a mapping key."""
        if not self.stack:
            return (), _line(event.start_mark), False
        top = self.stack[-1]
        if top.loc is None:
            return None, 0, isinstance(top.node, yaml.MappingNode) and top.key is None
        if isinstance(top.node, yaml.SequenceNode):
            return (*top.loc, len(top.node.value)), _line(event.start_mark), False
        if top.key is None:
            return top.loc, _line(event.start_mark), True
        if top.key_text is None:
            return None, 0, False
        return (*top.loc, top.key_text), top.key_line, False

    def _record(self, loc: Loc | None, line: int, is_key: bool) -> None:
        if loc is not None and not is_key:
            self.lines[loc] = line

    # -- nodes ------------------------------------------------------------- #

    def _scalar(self, event: t.Any) -> None:  # noqa: ANN401
        loc, line, is_key = self._place(event)
        tag = event.tag
        explicit = tag is not None and tag != "!"
        if not explicit:
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        node = yaml.ScalarNode(
            tag, event.value, event.start_mark, event.end_mark, style=event.style
        )
        if event.anchor is not None:
            self.anchors[event.anchor] = (node, 1)
        self._record(loc, line, is_key)
        if (
            not is_key
            and loc is not None
            and (problem := self._scalar_problem(node, explicit=explicit))
        ):
            self.issues.append(_issue(loc, problem, line))
        self._attach(node, 1, event)

    def _alias(self, event: t.Any) -> None:  # noqa: ANN401
        loc, line, is_key = self._place(event)
        anchor = str(event.anchor)
        if anchor in self.open_anchors:
            msg = (
                f"the alias *{anchor} is inside the value it names, which would "
                "repeat forever; an alias must come after its anchor's value ends"
            )
            raise _RefusedError([_issue(loc, msg, _line(event.start_mark))])
        if anchor not in self.anchors:
            raise yaml.composer.ComposerError(
                None, None, f"found undefined alias {anchor!r}", event.start_mark
            )
        node, size = self.anchors[anchor]
        self.alias_values += size
        if self.alias_values > MAX_ALIAS_VALUES:
            msg = (
                f"YAML aliases repeat more than {MAX_ALIAS_VALUES:,} values in all "
                f"(*{anchor} repeats {size:,}); alias less (a schema many "
                "streams share can be one schema_file)"
            )
            raise _RefusedError([_issue(loc, msg, _line(event.start_mark))])
        self._record(loc, line, is_key)
        self._attach(node, size, event)

    def _start(self, event: t.Any) -> None:  # noqa: ANN401
        loc, line, is_key = self._place(event)
        if len(self.stack) >= MAX_DEPTH:
            raise _RefusedError([_issue(loc, _TOO_DEEP, _line(event.start_mark))])
        is_list = isinstance(event, yaml.SequenceStartEvent)
        kind: type[yaml.SequenceNode | yaml.MappingNode] = (
            yaml.SequenceNode if is_list else yaml.MappingNode
        )
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(kind, None, event.implicit)
        node = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
        self._record(loc, line, is_key)
        what = "a list" if is_list else "a mapping"
        if is_key and loc is not None:
            problem = f"{what} cannot be a key; keys must be strings"
            self.issues.append(_issue(loc, problem, _line(event.start_mark)))
        elif loc is not None and tag != (_SEQ if is_list else _MAP):
            self.issues.append(_issue(loc, self._collection_problem(tag, what), line))
        anchor = event.anchor
        if anchor is not None:
            self.open_anchors.add(anchor)
        self.stack.append(_Open(node, None if is_key else loc, anchor))

    def _end(self, event: t.Any) -> None:  # noqa: ANN401
        frame = self.stack.pop()
        frame.node.end_mark = event.end_mark
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (frame.node, frame.size)
        self._attach(frame.node, frame.size, event)

    def _attach(self, node: yaml.Node, size: int, event: t.Any) -> None:  # noqa: ANN401
        if not self.stack:
            self.root = node
            return
        top = self.stack[-1]
        top.size += size
        if isinstance(top.node, yaml.SequenceNode):
            top.node.value.append(node)
        elif top.key is None:
            top.key = node
            self._key(top, node, event)
        else:
            top.node.value.append((top.key, node))
            top.key, top.key_text = None, None

    def _key(self, top: _Open, node: yaml.Node, event: t.Any) -> None:  # noqa: ANN401
        top.key_line = _line(event.start_mark)
        if not isinstance(node, yaml.ScalarNode):
            if isinstance(event, yaml.AliasEvent) and top.loc is not None:
                # (a list or mapping written as a key was reported when it started)
                msg = "a list or mapping cannot be a key; keys must be strings"
                self.issues.append(_issue(top.loc, msg, top.key_line))
            return
        text = str(node.value)
        top.key_text = text
        if top.loc is None:
            return
        if node.tag == f"{_YAML}merge":
            msg = (
                "merge keys (<<) are not supported; write the keys out, or alias "
                "the whole mapping"
            )
            self.issues.append(_issue(top.loc, msg, top.key_line))
        elif node.tag != _STR:
            kind = _KINDS.get(node.tag, f"tagged {_short_tag(node.tag)}")
            msg = (
                f"keys must be strings, but {text!r} is read as {kind}; quote it "
                "to make it a string"
            )
            where = (*top.loc, text) if text else top.loc
            self.issues.append(_issue(where, msg, top.key_line))
        elif text in top.keys:
            msg = (
                f"duplicate key {text!r} (first on line {top.keys[text]}); a key "
                "may appear only once in a mapping"
            )
            found = _issue(top.loc, msg, top.key_line)
            self.issues.append(found)
            self.duplicates.append(found)
        else:
            top.keys[text] = top.key_line

    # -- values that are not JSON ------------------------------------------- #

    def _scalar_problem(self, node: yaml.ScalarNode, *, explicit: bool) -> str | None:
        tag, value = node.tag, str(node.value)
        if tag in _SCALARS:
            if tag == f"{_YAML}int" and len(value) > MAX_INT_DIGITS:
                return (
                    f"an integer with more than {MAX_INT_DIGITS} digits; quote it "
                    "to make it a string"
                )
            if explicit and tag != _STR:
                construct = self.loader.yaml_constructors[tag]
                try:
                    construct(self.loader, node)
                except (ValueError, KeyError, TypeError):
                    return f"{value!r} is not {_KINDS[tag]} (tagged {_short_tag(tag)})"
            return None
        if tag == f"{_YAML}timestamp":
            kind = "date-time" if len(value.strip()) > len("2024-01-01") else "date"
            return f"{value!r} is read as a YAML {kind}; quote it to make it a string"
        if tag == f"{_YAML}binary":
            return f"binary data (!!binary) is not a JSON value; {_ONLY_JSON}"
        if tag in {f"{_YAML}value", f"{_YAML}merge"}:
            return f"an unquoted {value!r} is a YAML special value; quote it"
        return f"the YAML tag {_short_tag(tag)} is not supported; {_ONLY_JSON}"

    @staticmethod
    def _collection_problem(tag: str, what: str) -> str:
        if tag == f"{_YAML}set":
            return "a YAML set (!!set) is not a JSON value; write a list"
        if tag in {f"{_YAML}omap", f"{_YAML}pairs"}:
            return f"{_short_tag(tag)} is not a JSON value; write a plain mapping"
        return (
            f"the YAML tag {_short_tag(tag)} on {what} is not supported; {_ONLY_JSON}"
        )


def _load_yaml(text: str, lines: dict[Loc, int]) -> t.Any:  # noqa: ANN401
    """Parse once: compose (checking as it goes), then build the data."""
    loader = _SafeLoader(text)
    try:
        composer = _Composer(loader, lines)
        node = composer.compose()
        if composer.issues:
            raise _RefusedError(composer.issues)
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def _yaml_lines(text: str, lines: dict[Loc, int]) -> list[SpecIssue]:
    """Best effort for JSON: its lines and duplicate keys, via the YAML composer.

    JSON that YAML cannot compose simply has no line numbers.
    """
    loader = _SafeLoader(text)
    try:
        composer = _Composer(loader, lines)
        composer.compose()
    except (yaml.YAMLError, _RefusedError):
        return []
    finally:
        loader.dispose()
    return composer.duplicates


# --------------------------------------------------------------------------- #
# JSON
# --------------------------------------------------------------------------- #

#: A JSON string (possibly unterminated) or a bracket.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


def _json_depth(text: str) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH before the recursive decoder runs."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        char = text[match.start()]
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                raise _RefusedError([SpecIssue("", _TOO_DEEP, line)])
        elif char in "]}":
            depth -= 1


class _LongNumber:
    """A JSON integer too long for Python to read."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _json_int(text: str) -> int | _LongNumber:
    if len(text) > MAX_INT_DIGITS:
        return _LongNumber(len(text))
    return int(text)


def _load_json(text: str, lines: dict[Loc, int]) -> t.Any:  # noqa: ANN401
    _json_depth(text)
    duplicates: list[str] = []

    def unique(pairs: list[tuple[str, t.Any]]) -> dict[str, t.Any]:
        result: dict[str, t.Any] = {}
        for key, value in pairs:
            if key in result:
                duplicates.append(key)
            result[key] = value
        return result

    try:
        data = json.loads(text, object_pairs_hook=unique, parse_int=_json_int)
    except RecursionError:
        raise _RefusedError([SpecIssue("", _TOO_DEEP, None)]) from None
    found = _yaml_lines(text, lines)
    if duplicates:
        if not found:
            msg = (
                f"duplicate key {duplicates[0]!r}; a key may appear only once "
                "in a mapping"
            )
            found = [SpecIssue("", msg, None)]
        raise _RefusedError(found)
    return data


# --------------------------------------------------------------------------- #
# Values
# --------------------------------------------------------------------------- #


def _scalar_value_problem(value: object) -> str | None:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN is not a JSON number; write a number"
        if math.isinf(value):
            return "infinity (or a number too large) is not a JSON number"
        return None
    if isinstance(value, _LongNumber):
        return (
            f"an integer with {value.digits} digits; at most {MAX_INT_DIGITS} "
            "(quote it to make it a string)"
        )
    if value is None or isinstance(value, str | int):
        return None
    return f"a {type(value).__name__} is not a JSON value"


def depth_of(data: object) -> int:
    """Levels of lists and mappings in ``data`` (0 for a scalar), without recursion.

    Shared values (YAML aliases) are walked each time they appear.
    """
    deepest = 0
    todo: list[tuple[object, int]] = [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            items = value.values() if isinstance(value, dict) else value
            todo.extend((item, depth + 1) for item in items)
    return deepest


def value_problems(data: object, root: Loc = ()) -> list[tuple[Loc, str]]:
    """Where ``data`` holds something that is not a JSON value, and what.

    Walks without recursion; the data must be bounded (as loaded specs are).
    """
    found: list[tuple[Loc, str]] = []
    todo: list[tuple[object, Loc]] = [(data, root)]
    while todo:
        value, loc = todo.pop()
        if isinstance(value, dict):
            for key, item in reversed(value.items()):
                if isinstance(key, str):
                    todo.append((item, (*loc, key)))
                else:
                    found.append((loc, f"keys must be strings, not {key!r}"))
        elif isinstance(value, list):
            todo.extend((value[i], (*loc, i)) for i in reversed(range(len(value))))
        elif problem := _scalar_value_problem(value):
            found.append((loc, problem))
    return found


# --------------------------------------------------------------------------- #
# Entry points
# --------------------------------------------------------------------------- #


def _too_large(size: str) -> str:
    return (
        f"the spec is larger than {MAX_SPEC_BYTES // 1_000_000} MB ({size}); a spec "
        "is at most that (put large schemas in schema_file files)"
    )


def parse_spec_text(text: str, path: Path | None = None) -> LoadedSpec:
    """Parse spec text; JSON when the file is ``.json``, YAML otherwise.

    Raises:
        SpecError: when the text is not well-formed, or too large, too deep or
            too repetitive, or holds values that are not JSON.
    """
    source = str(path) if path else None
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError(
            [SpecIssue("", _too_large(f"{len(text):,} characters"))], source
        )
    lines: dict[Loc, int] = {}
    try:
        if path is not None and path.suffix.lower() == ".json":
            data = _load_json(text, lines)
        else:
            data = _load_yaml(text, lines)
    except _RefusedError as exc:
        raise SpecError(exc.issues, source) from None
    except json.JSONDecodeError as exc:
        issue = SpecIssue("", f"not valid JSON: {exc.msg}", exc.lineno)
        raise SpecError([issue], source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        message = f"not valid YAML: {problem}"
        if problem == "exceeded maximum nesting depth":  # libyaml's own limit
            message = _TOO_DEEP
        raise SpecError([SpecIssue("", message, line)], source) from None
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "empty"
        issue = SpecIssue(
            "", f"a spec is a mapping of keys (name, tap_id, ...), not {kind}", 1
        )
        raise SpecError([issue], source)
    loaded = LoadedSpec(data=data, path=path, lines=lines)
    if problems := value_problems(data):
        issues = [_issue(loc, msg, loaded.line_of(loc)) for loc, msg in problems]
        raise SpecError(issues, source)
    return loaded


def _read_bounded(path: Path) -> str:
    """The file's text, refusing what is not a regular file or is too large.

    Opened without blocking (a FIFO would wait for a writer) and checked on the
    open descriptor, then read up to one byte past the limit (a file may grow).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            msg = "it is a directory; give the path of a YAML or JSON file"
            raise _RefusedError([SpecIssue("", f"cannot read the spec: {msg}")])
        if not stat.S_ISREG(info.st_mode):
            msg = (
                "it is not a regular file (a pipe, device or socket); give the "
                "path of a YAML or JSON file"
            )
            raise _RefusedError([SpecIssue("", f"cannot read the spec: {msg}")])
        if info.st_size > MAX_SPEC_BYTES:
            size = f"{info.st_size:,} bytes"
            raise _RefusedError([SpecIssue("", _too_large(size))])
        chunks: list[bytes] = []
        left = MAX_SPEC_BYTES + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_SPEC_BYTES:
        raise _RefusedError([SpecIssue("", _too_large("it grew while read"))])
    # universal newlines, as text mode reads them
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def load_spec(path: str | Path) -> LoadedSpec:
    """Read a spec file.

    Raises:
        SpecError: when the file cannot be read or parsed.
    """
    spec_path = Path(path)
    try:
        text = _read_bounded(spec_path)
    except _RefusedError as exc:
        raise SpecError(exc.issues, str(spec_path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(
            [SpecIssue("", f"cannot read the spec: {reason}")], str(spec_path)
        ) from None
    return parse_spec_text(text, spec_path)
