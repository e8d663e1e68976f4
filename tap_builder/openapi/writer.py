"""Write an import plan as a commented spec (ruamel.yaml) and print its summary.

Each derived value gets a comment above it saying what in the document led to it
and how sure the import is (``[sure]``, ``[likely]``, ``[guess]``). A schema
whose JSON is longer than :data:`INLINE_SCHEMA_CHARS` goes to
``schemas/<stream id>.json`` beside the spec. Operations that did not become
streams are listed, with the reason, in a comment block at the end.
"""

from __future__ import annotations

import io
import json
import typing as t

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

if t.TYPE_CHECKING:
    from tap_builder.openapi.model import ImportPlan, StreamPlan

JSON = t.Any

#: Larger schemas (as compact JSON) go to their own file.
INLINE_SCHEMA_CHARS = 3000
_FLOW_CHARS = 72
_STREAM_KEYS = (
    ("primary_key", "primary_key"),
    ("parent_stream", "parent_stream"),
    ("pagination", "pagination"),
    ("incremental", "incremental"),
    ("records_selector", "records_selector"),
    ("body", "body"),
)


def render_spec(plan: ImportPlan, spec_name: str = "spec.yaml") -> dict[str, str]:
    """The spec text (under ``spec_name``) and its schema files, by relative path."""
    files: dict[str, str] = {}
    data = plan.to_spec()
    top = _commented(data)
    version = plan.source
    top.yaml_set_start_comment(
        f"Imported from {version} by tap-builder import openapi.\n"
        "Each comment says what in the document led to the value below it, and how\n"
        "sure the import is: [sure] the document says so, [likely] a convention it\n"
        "follows, [guess] a convention it does not show. Review, then run\n"
        f"tap-builder validate {spec_name}"
    )
    for key in ("base_url", "authentication"):
        if key in top and key in plan.why:
            top.yaml_set_comment_before_after_key(
                key, before=_text(plan.why[key].comment()), indent=0
            )
    if "parameters" in top:
        for index, param in enumerate(plan.parameters):
            top["parameters"].yaml_set_comment_before_after_key(
                index, before=_text(param.why.comment()), indent=2
            )
    for index, stream in enumerate(plan.streams):
        item = top["streams"][index]
        _stream_comments(top["streams"], index, item, stream)
        schema = data["streams"][index]["schema"]
        compact = json.dumps(schema, separators=(",", ":"))
        if len(compact) > INLINE_SCHEMA_CHARS:
            name = f"schemas/{stream.id}.json"
            files[name] = json.dumps(schema, indent=2, sort_keys=False) + "\n"
            _replace_key(item, "schema", "schema_file", name)
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    out = io.StringIO()
    yaml.dump(top, out)
    files[spec_name] = out.getvalue() + _skipped_block(plan)
    return files


def _text(comment: str, width: int = 96) -> str:
    """A comment wrapped at ``width`` (ruamel prefixes each line with ``# ``)."""
    words, lines, line = comment.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def _stream_comments(
    seq: CommentedSeq, index: int, item: CommentedMap, stream: StreamPlan
) -> None:
    head = [stream.why["stream"].comment()]
    if "selected" in stream.why:
        head.append(stream.why["selected"].comment())
    if stream.verified != "not run":
        head.append(f"verify: {stream.verified}")
    head.extend(f"corrected by --verify: {c}" for c in stream.corrections)
    seq.yaml_set_comment_before_after_key(
        index, before="\n".join(_text(h) for h in head), indent=2
    )
    for key, why_key in _STREAM_KEYS:
        if key in item and why_key in stream.why:
            item.yaml_set_comment_before_after_key(
                key, before=_text(stream.why[why_key].comment()), indent=4
            )
    notes = [stream.why[k].comment() for k in stream.why if k.startswith("param:")]
    for key in ("query_params", "headers"):
        if key in item and notes:
            item.yaml_set_comment_before_after_key(
                key, before="\n".join(_text(n) for n in notes), indent=4
            )
            break
    if "schema" in item:
        item.yaml_set_comment_before_after_key(
            "schema", before="the response item schema, $refs inlined [sure]", indent=4
        )


def _replace_key(item: CommentedMap, old: str, new: str, value: str) -> None:
    position = list(item).index(old)
    del item[old]
    item.insert(position, new, value)
    item.yaml_set_comment_before_after_key(
        new,
        before="the response item schema, $refs inlined, in its own file [sure]",
        indent=4,
    )


def _commented(value: JSON) -> JSON:
    """Plain data as ruamel's commented containers; small leaf maps in flow style."""
    if isinstance(value, dict):
        out = CommentedMap()
        for key, item in value.items():
            out[key] = _commented(item)
        if value and all(
            not isinstance(v, (dict, list)) or _small_list(v) for v in value.values()
        ):
            flow = json.dumps(value, separators=(", ", ": "))
            if len(flow) <= _FLOW_CHARS:
                out.fa.set_flow_style()
        return out
    if isinstance(value, list):
        seq = CommentedSeq(_commented(v) for v in value)
        if _small_list(value):
            seq.fa.set_flow_style()
        return seq
    return value


def _small_list(value: JSON) -> bool:
    return (
        isinstance(value, list)
        and all(isinstance(v, (str, int, float, bool)) for v in value)
        and len(json.dumps(value)) <= 60
    )


def _skipped_block(plan: ImportPlan) -> str:
    if not plan.skipped:
        return ""
    lines = [f"\n# Not mapped ({len(plan.skipped)} operations):"]
    lines.extend(f"#   {s.label}: {s.reason}" for s in plan.skipped)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- #
# Summary
# --------------------------------------------------------------------------- #


def pagination_text(stream: StreamPlan) -> str:
    """Pagination in a few words: ``page_increment(page)``, ``cursor(after)``."""
    paging = stream.pagination
    if not paging:
        return "none"
    kind = str(paging["type"])
    detail = (
        paging.get("page_param")
        or paging.get("param")
        or paging.get("offset_param")
        or paging.get("next_url")
        or ""
    )
    return f"{kind}({detail})" if detail else kind


def incremental_text(stream: StreamPlan) -> str:
    """Incremental in a few words: ``updated_at via updated_since``."""
    inc = stream.incremental
    if not inc:
        return "-"
    return f"{inc['replication_key']} via {inc['param_name']}"


def summary_table(plan: ImportPlan) -> str:
    """The streams as a text table: stream, path, pagination, incremental, verified."""
    rows = [("stream", "path", "pagination", "incremental", "verified")]
    for stream in plan.streams:
        rows.append(
            (
                stream.id,
                f"{stream.method} {stream.path}",
                pagination_text(stream),
                incremental_text(stream),
                stream.verified,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
