"""Write an inferred schema back into a spec, keeping the rest of the file.

YAML specs are edited with ruamel.yaml's round-trip mode, which keeps comments,
key order and quoting; JSON specs keep their key order. A stream with a
``schema_file`` gets that file rewritten instead.
"""

from __future__ import annotations

import io
import json
import typing as t
from pathlib import Path

from ruamel.yaml import YAML

if t.TYPE_CHECKING:
    from tap_builder.spec.models import Stream


def write_schema(
    spec_path: Path, stream: Stream, index: int, schema: dict[str, t.Any]
) -> Path:
    """Store ``schema`` for ``stream`` (the ``index``-th); returns the file written."""
    if stream.schema_file is not None:
        target = spec_path.parent / stream.schema_file
        target.write_text(
            json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return target
    text = spec_path.read_text(encoding="utf-8")
    if spec_path.suffix.lower() == ".json":
        data = json.loads(text)
        data["streams"][index]["schema"] = schema
        spec_path.write_text(
            json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return spec_path
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    document = yaml.load(text)
    document["streams"][index]["schema"] = schema
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    spec_path.write_text(buffer.getvalue(), encoding="utf-8")
    return spec_path


def replication_key_hint(stream: Stream, schema: dict[str, t.Any]) -> str | None:
    """Suggest ``format: date-time`` for the replication key when it lacks one."""
    if stream.incremental is None:
        return None
    key = stream.incremental.replication_key
    prop = schema.get("properties", {}).get(key)
    if not isinstance(prop, dict):
        return f"the replication key {key!r} was not in any record"
    types = prop.get("type")
    type_set = {types} if isinstance(types, str) else set(types or [])
    if prop.get("format") in {"date-time", "date"}:
        return None
    if type_set & {"integer", "number"}:
        return (
            f"the replication key {key!r} holds numbers (Unix timestamps?): declare it "
            "{type: string, format: date-time} to emit ISO-8601 values, or keep "
            "type: integer for numeric bookmarks"
        )
    return (
        f"the replication key {key!r} is a string: if it holds dates, add "
        "format: date-time"
    )
