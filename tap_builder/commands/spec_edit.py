"""Write an inferred schema back into a spec, keeping the rest of the file.

YAML specs are edited with ruamel.yaml's round-trip mode, which keeps comments,
key order and quoting; JSON specs keep their key order. A stream with a
``schema_file`` gets that file rewritten instead, only inside the spec's folder.
Either file is replaced atomically (a temporary file, then one rename).
"""

from __future__ import annotations

import io
import json
import stat
import typing as t

from ruamel.yaml import YAML

from tap_builder.spec.checks import nested_property
from tap_builder.spec.files import SpecFileError, atomic_write, write_spec_file

if t.TYPE_CHECKING:
    from pathlib import Path

    from tap_builder.spec.models import Stream


def write_schema(
    spec_path: Path, stream: Stream, index: int, schema: dict[str, t.Any]
) -> Path:
    """Store ``schema`` for ``stream`` (the ``index``-th); returns the file written.

    A ``schema_file`` must lead (symbolic links resolved) to a regular file inside
    the spec's folder, as validation requires; the file, or the spec, is replaced
    atomically, so a failure leaves it as it was.

    Raises:
        SpecFileError: the schema file is outside the spec's folder, is not a
            regular file, or a file cannot be written.
    """
    if stream.schema_file is not None:
        data = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
        write_spec_file(
            spec_path.parent,
            str(stream.schema_file),
            data.encode("utf-8"),
            field=f"streams[{index}].schema_file",
        )
        return spec_path.parent / stream.schema_file
    text = spec_path.read_text(encoding="utf-8")
    if spec_path.suffix.lower() == ".json":
        data = json.loads(text)
        data["streams"][index]["schema"] = schema
        updated = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        yaml = YAML()
        yaml.preserve_quotes = True
        yaml.width = 4096
        yaml.indent(mapping=2, sequence=4, offset=2)
        document = yaml.load(text)
        document["streams"][index]["schema"] = schema
        buffer = io.StringIO()
        yaml.dump(document, buffer)
        updated = buffer.getvalue()
    replace_user_file(spec_path, updated.encode("utf-8"))
    return spec_path


def replace_user_file(path: Path, data: bytes) -> None:
    """Replace the user's own file (through a link, if it is one) atomically.

    Raises:
        SpecFileError: it cannot be written (it is left as it was).
    """
    real = path.resolve()
    try:
        atomic_write(real, data, stat.S_IMODE(real.stat().st_mode))
    except OSError as exc:
        msg = f"cannot write {path}: {exc.strerror or exc}; it was left as it was"
        raise SpecFileError(msg) from None


def replication_key_hint(stream: Stream, schema: dict[str, t.Any]) -> str | None:
    """Suggest ``format: date-time`` for the replication key when it lacks one."""
    if stream.incremental is None:
        return None
    key = stream.incremental.replication_key
    path = stream.incremental.key_path
    prop = (
        schema.get("properties", {}).get(key)
        if path is None
        else nested_property(schema, path)
    )
    if stream.incremental.sequence and isinstance(prop, dict):
        return None  # an integer sequence needs no date format
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
