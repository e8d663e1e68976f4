"""Schema inference from sample records (``tap-builder infer-schema``)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import re
import time
import typing as t
from pathlib import Path

import pytest
import requests
from jsonschema import Draft202012Validator, FormatChecker

from tap_builder.commands.infer import (
    SampleError,
    infer_schema,
    infer_schema_from_file,
    records_from_sample,
)
from tap_builder.demo import DEMO_SPECS, DemoServer, demo_config
from tests.test_demo_server import MiniTap, load_spec


def props(records: list[t.Any]) -> dict[str, t.Any]:
    return infer_schema(records)["properties"]


#: The draft's format checker; date-time made strict (RFC 3339) because
#: jsonschema only checks it when the optional rfc3339-validator is installed.
FORMAT_CHECKER = FormatChecker()
FORMAT_CHECKER.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True
    dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return RFC3339.fullmatch(value) is not None


def validator(schema: dict[str, t.Any]) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


def test_strict_date_time_checker() -> None:
    """The test's date-time checker accepts RFC 3339 and refuses the rest."""
    assert FORMAT_CHECKER.conforms("2024-01-02T03:04:05.5+01:00", "date-time")
    for bad in ("2024-01-02T03:04:05", "2024-01-02", "2024-02-30T00:00:00Z", "x"):
        assert not FORMAT_CHECKER.conforms(bad, "date-time"), bad
    assert not FORMAT_CHECKER.conforms("2024-02-30", "date")
    assert not FORMAT_CHECKER.conforms("nobody", "email")


# --------------------------------------------------------------------------- #
# Merging
# --------------------------------------------------------------------------- #


def test_root_is_an_object_schema() -> None:
    """The result is an object schema with sorted properties and required."""
    schema = infer_schema([{"b": 1, "a": "x"}])
    assert schema == {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }
    assert list(schema["properties"]) == ["a", "b"]


def test_field_missing_somewhere_is_not_required() -> None:
    """A field absent from some records is a property but not required."""
    schema = infer_schema([{"id": 1, "note": "x"}, {"id": 2}])
    assert set(schema["properties"]) == {"id", "note"}
    assert schema["required"] == ["id"]


def test_null_makes_a_nullable_type_list() -> None:
    """A field that is sometimes null gets a type list ending in null."""
    assert props([{"n": 1}, {"n": None}])["n"] == {"type": ["integer", "null"]}
    assert props([{"s": None}, {"s": "x"}])["s"] == {"type": ["string", "null"]}


def test_only_nulls_is_null() -> None:
    """A field that is always null is typed null."""
    assert props([{"n": None}, {"n": None}])["n"] == {"type": "null"}


def test_integer_and_float_make_number() -> None:
    """Whole numbers are integer; mixed with fractions they widen to number."""
    assert props([{"x": 1}, {"x": 2}])["x"] == {"type": "integer"}
    assert props([{"x": 1}, {"x": 2.5}])["x"] == {"type": "number"}
    assert props([{"x": 2.5}, {"x": None}])["x"] == {"type": ["number", "null"]}


def test_booleans_are_not_integers() -> None:
    """true/false are boolean, not integer."""
    assert props([{"b": True}, {"b": False}])["b"] == {"type": "boolean"}


def test_nested_objects_merge_recursively() -> None:
    """Nested objects merge their properties, with their own required list."""
    nested = props([{"o": {"x": 1}}, {"o": {"x": None, "y": "a"}}])["o"]
    assert nested == {
        "type": "object",
        "properties": {"x": {"type": ["integer", "null"]}, "y": {"type": "string"}},
        "required": ["x"],
    }


def test_nullable_nested_object() -> None:
    """An object that is sometimes null keeps its properties and is nullable."""
    nested = props([{"o": None}, {"o": {"x": 1}}])["o"]
    assert nested["type"] == ["object", "null"]
    assert nested["properties"] == {"x": {"type": "integer"}}


def test_arrays_of_objects_merge_items() -> None:
    """Array items that are objects merge into one item schema."""
    items = props([{"l": [{"a": 1}, {"a": 2, "b": True}]}, {"l": []}])["l"]
    assert items == {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "boolean"}},
            "required": ["a"],
        },
    }


def test_mixed_types_make_a_union() -> None:
    """A field with values of different types gets all of them."""
    assert props([{"v": 1}, {"v": "x"}])["v"] == {"type": ["integer", "string"]}
    union = props([{"v": "x"}, {"v": None}, {"v": True}])["v"]
    assert union == {"type": ["boolean", "string", "null"]}


# --------------------------------------------------------------------------- #
# Formats
# --------------------------------------------------------------------------- #

FORMATS = [
    pytest.param(
        ["2024-01-02T03:04:05Z", "2024-06-30T23:59:59+02:00"],
        "date-time",
        id="date-time",
    ),
    pytest.param(["2024-01-02", "1999-12-31"], "date", id="date"),
    pytest.param(["ann@example.com", "bob@mail.example.org"], "email", id="email"),
    pytest.param(["https://example.com/a?b=1", "http://x.org"], "uri", id="uri"),
]


@pytest.mark.parametrize(("values", "fmt"), FORMATS)
def test_format_when_every_sample_fits(values: list[str], fmt: str) -> None:
    """A format is set when every string sample has it."""
    assert props([{"f": v} for v in values])["f"] == {"type": "string", "format": fmt}


@pytest.mark.parametrize(("values", "fmt"), FORMATS)
def test_no_format_when_one_sample_differs(values: list[str], fmt: str) -> None:
    """One string that does not fit drops the format."""
    records = [{"f": v} for v in [*values, "plain text"]]
    assert props(records)["f"] == {"type": "string"}


@pytest.mark.parametrize(("values", "fmt"), FORMATS)
def test_format_ignores_nulls(values: list[str], fmt: str) -> None:
    """Nulls do not drop a format: the field is a nullable formatted string."""
    records = [{"f": None}, *({"f": v} for v in values)]
    assert props(records)["f"] == {"type": ["string", "null"], "format": fmt}


def test_date_and_date_time_mixed_has_no_format() -> None:
    """Dates mixed with date-times fit neither format."""
    assert props([{"d": "2024-01-02"}, {"d": "2024-01-02T00:00:00Z"}])["d"] == {
        "type": "string"
    }


@pytest.mark.parametrize(
    "value", ["2024-02-30", "2024-13-01T00:00:00Z", "20240102", "2024-01-02T25:00:00Z"]
)
def test_impossible_dates_get_no_format(value: str) -> None:
    """Strings shaped like dates but not real dates get no format."""
    assert props([{"d": value}])["d"] == {"type": "string"}


# --------------------------------------------------------------------------- #
# Determinism and the validation property
# --------------------------------------------------------------------------- #

SAMPLES: list[list[dict[str, t.Any]]] = [
    [{"id": 1}],
    [{"id": 1, "name": "a"}, {"id": 2.5, "name": None}, {"id": 3, "extra": [1, 2]}],
    [
        {"at": "2024-01-02T03:04:05Z", "on": "2024-01-02", "mail": "a@b.co"},
        {"at": None, "on": "2023-12-31", "mail": "c@d.org", "web": "https://e.f"},
    ],
    [
        {"o": {"x": 1, "y": {"z": [{"q": "s"}]}}, "tags": ["a", "b"]},
        {"o": None, "tags": []},
        {"o": {"x": None, "y": {"z": [{"q": None, "r": 1.5}]}}, "tags": ["c"]},
    ],
    [
        {"v": 1, "w": {"a": 1}},
        {"v": "2024-01-02T03:04:05+00:00", "w": [1]},
        {"v": None, "w": "s"},
        {"v": True, "w": None},
    ],
    [{"deep": [[{"a": 1}], [{"a": None, "b": [{"c": "2024-01-01"}]}]]}, {"deep": None}],
    [{"empty": {}}, {"empty": {"later": 1}}, {"list": [None, 1, "x"]}],
    [{"big": 10**20, "neg": -1, "zero": 0.0}, {"big": 1, "neg": -2.25, "zero": 0}],
]


def shuffled_keys(value: t.Any, rng: random.Random) -> t.Any:
    """The same JSON with every object's keys in a random order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled_keys(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled_keys(v, rng) for v in value]
    return value


@pytest.mark.parametrize("records", SAMPLES)
def test_every_sample_record_validates(records: list[dict[str, t.Any]]) -> None:
    """Each record of a sample validates against the schema inferred from it."""
    check = validator(infer_schema(records))
    for record in records:
        assert not list(check.iter_errors(record)), record


@pytest.mark.parametrize("records", SAMPLES)
def test_key_order_does_not_change_the_schema(records: list[dict[str, t.Any]]) -> None:
    """Shuffling the keys of every object gives byte-identical JSON output."""
    expected = json.dumps(infer_schema(records))
    rng = random.Random(7)  # noqa: S311 - a fixed shuffle, not a secret
    for _ in range(5):
        assert json.dumps(infer_schema(shuffled_keys(records, rng))) == expected


@pytest.mark.parametrize("records", SAMPLES)
def test_record_order_does_not_change_the_schema(
    records: list[dict[str, t.Any]],
) -> None:
    """Every order of the records gives the same schema."""
    expected = infer_schema(records)
    for order in itertools.islice(itertools.permutations(records), 24):
        assert infer_schema(list(order)) == expected


def test_input_is_not_modified() -> None:
    """Inference leaves the sample records as they were."""
    records = [{"b": {"y": 1, "x": [None]}, "a": None}]
    before = json.dumps(records)
    infer_schema(records)
    assert json.dumps(records) == before


# --------------------------------------------------------------------------- #
# Reading samples
# --------------------------------------------------------------------------- #


def test_records_from_a_single_record() -> None:
    """One object is one record."""
    assert records_from_sample({"id": 1}) == [{"id": 1}]


def test_records_from_a_list() -> None:
    """A list is the records."""
    assert records_from_sample([{"id": 1}, {"id": 2}]) == [{"id": 1}, {"id": 2}]


def test_records_from_a_response_with_selector() -> None:
    """A selector picks the records out of a whole response."""
    response = {"meta": {"next": None}, "data": {"items": [{"id": 1}, {"id": 2}]}}
    records = records_from_sample(response, "$.data.items[*]")
    assert records == [{"id": 1}, {"id": 2}]


def test_selector_matching_nothing_lists_top_level_keys() -> None:
    """A selector that matches nothing says which top-level keys there are."""
    with pytest.raises(SampleError) as caught:
        records_from_sample({"meta": {}, "results": []}, "$.items[*]")
    message = str(caught.value)
    assert "'$.items[*]' matches nothing" in message
    assert "top-level keys: meta, results" in message


def test_invalid_selector() -> None:
    """A selector that is not JSONPath is a SampleError."""
    with pytest.raises(SampleError, match="not a valid JSONPath"):
        records_from_sample({"a": []}, "$.a[*")


def test_non_object_record_is_refused() -> None:
    """Records must be objects; the message names the first offender."""
    with pytest.raises(SampleError, match="record 1 is a int, not an object"):
        infer_schema([{"id": 1}, 5])


def test_empty_sample_is_refused() -> None:
    """No records at all is a SampleError."""
    with pytest.raises(SampleError, match="no records"):
        infer_schema([])


@pytest.mark.parametrize(
    "text", ["[]", "", "\n\n"], ids=["empty-list", "empty", "blank"]
)
def test_empty_sample_file_is_refused(tmp_path: Path, text: str) -> None:
    """A sample file with no records is a SampleError."""
    sample = tmp_path / "sample.json"
    sample.write_text(text, "utf-8")
    with pytest.raises(SampleError, match="no records"):
        infer_schema_from_file(sample)


def test_json_file_with_selector(tmp_path: Path) -> None:
    """A JSON response file with a selector gives its records' schema."""
    sample = tmp_path / "response.json"
    sample.write_text(json.dumps({"calls": [{"id": 1}, {"id": 2, "x": "y"}]}), "utf-8")
    schema = infer_schema_from_file(sample, selector="$.calls[*]")
    assert schema["required"] == ["id"]
    assert set(schema["properties"]) == {"id", "x"}


def test_json_lines_file(tmp_path: Path) -> None:
    """A JSON Lines file is one record per non-blank line."""
    sample = tmp_path / "records.jsonl"
    sample.write_text('{"id": 1, "a": "x"}\n\n{"id": 2.5}\n', "utf-8")
    schema = infer_schema_from_file(sample)
    assert schema["properties"] == {"a": {"type": "string"}, "id": {"type": "number"}}
    assert schema["required"] == ["id"]


def test_bad_json_lines_names_the_line(tmp_path: Path) -> None:
    """A file that is neither JSON nor JSON Lines names the bad line."""
    sample = tmp_path / "records.jsonl"
    sample.write_text('{"id": 1}\n{"id": \n', "utf-8")
    with pytest.raises(
        SampleError, match=r"records\.jsonl:2: neither JSON nor JSON Lines"
    ):
        infer_schema_from_file(sample)


def test_missing_file(tmp_path: Path) -> None:
    """A missing sample file is a SampleError."""
    with pytest.raises(SampleError, match="cannot read"):
        infer_schema_from_file(tmp_path / "nope.json")


# --------------------------------------------------------------------------- #
# Round trip over the demo APIs
# --------------------------------------------------------------------------- #


def test_inferred_schema_accepts_demo_records(demo_server: DemoServer) -> None:
    """For every sample spec's demo data, the inferred schema accepts each record."""
    started = time.monotonic()
    checked = 0
    with requests.Session() as session:
        for stem in DEMO_SPECS:
            spec = load_spec(stem)
            tap = MiniTap(spec, demo_config(stem, demo_server.url), session)
            for stream in spec["streams"]:
                records, _ = tap.sync(stream["id"], {})
                assert records, (stem, stream["id"])
                check = validator(infer_schema(records))
                for record in records:
                    assert not list(check.iter_errors(record)), (stem, record)
                checked += len(records)
    assert checked > 50
    assert time.monotonic() - started < 2
