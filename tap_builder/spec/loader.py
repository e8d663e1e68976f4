"""Read a spec file (YAML or JSON) into plain data plus the line of every field."""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tap_builder.spec.errors import SpecError, SpecIssue

Loc = tuple[str | int, ...]


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


#: libyaml's parser when PyYAML has it (about ten times faster), else pure Python.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that refuses duplicate mapping keys (silently dropped otherwise)."""


def _construct_mapping(
    loader: yaml.SafeLoader, node: yaml.MappingNode
) -> dict[t.Any, t.Any]:
    seen: set[t.Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            msg = f"duplicate key {key!r}"
            raise yaml.constructor.ConstructorError(
                None, None, msg, key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def _node_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*loc, str(key_node.value))
            lines[child] = key_node.start_mark.line + 1
            _node_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, (*loc, index), lines)


def _load_yaml(text: str, lines: dict[Loc, int]) -> t.Any:  # noqa: ANN401
    """Parse once: the node tree gives the line numbers, then the data."""
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _node_lines(node, (), lines)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _record_lines(text: str, lines: dict[Loc, int]) -> None:
    """Best effort: JSON that YAML cannot compose simply has no line numbers."""
    try:
        node = yaml.compose(text, Loader=_SafeLoader)
    except yaml.YAMLError:
        return
    if node is not None:
        _node_lines(node, (), lines)


def parse_spec_text(text: str, path: Path | None = None) -> LoadedSpec:
    """Parse spec text; JSON when the file is ``.json``, YAML otherwise.

    Raises:
        SpecError: when the text is not well-formed.
    """
    source = str(path) if path else None
    lines: dict[Loc, int] = {}
    try:
        if path is not None and path.suffix.lower() == ".json":
            data = json.loads(text)
            _record_lines(text, lines)
        else:
            data = _load_yaml(text, lines)
    except json.JSONDecodeError as exc:
        issue = SpecIssue("", f"not valid JSON: {exc.msg}", exc.lineno)
        raise SpecError([issue], source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(
            [SpecIssue("", f"not valid YAML: {problem}", line)], source
        ) from None
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "empty"
        issue = SpecIssue(
            "", f"a spec is a mapping of keys (name, tap_id, ...), not {kind}", 1
        )
        raise SpecError([issue], source)
    return LoadedSpec(data=data, path=path, lines=lines)


def load_spec(path: str | Path) -> LoadedSpec:
    """Read a spec file.

    Raises:
        SpecError: when the file cannot be read or parsed.
    """
    spec_path = Path(path)
    try:
        text = spec_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(
            [SpecIssue("", f"cannot read the spec: {reason}")], str(spec_path)
        ) from None
    return parse_spec_text(text, spec_path)
