"""``tap-builder init``: a commented starter spec that validates.

Answers come from flags; on a terminal, what flags leave out is asked for.
"""

from __future__ import annotations

import json
import re
import typing as t
from dataclasses import dataclass, fields, replace
from pathlib import Path

from tap_builder.render.environment import environment
from tap_builder.spec import parse_spec_text
from tap_builder.validation import validate_spec

if t.TYPE_CHECKING:
    from collections.abc import Callable

AUTH_TYPES = ("none", "api_key", "basic")


@dataclass(frozen=True)
class Answers:
    """What the starter spec is made from."""

    name: str = ""
    tap_id: str = ""
    domain: str = ""
    base_url: str = ""
    auth: str = "none"
    api_key_location: str = "header"
    api_key_name: str = "X-API-Key"
    stream_name: str = ""
    stream_id: str = ""
    stream_path: str = ""
    records_selector: str = "$[*]"
    primary_key: str = "id"
    spec_file: str = "spec.yaml"


def slug(text: str, separator: str) -> str:
    """``My API v2`` -> ``my-api-v2`` (or ``my_api_v2``)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    joined = separator.join(words)
    return (
        joined if joined[:1].isalpha() else ("x" + separator + joined if joined else "")
    )


def with_defaults(answers: Answers) -> Answers:
    """Fill what can be derived: ids from names, the stream from its path."""
    stream_name = (
        answers.stream_name or answers.stream_path.strip("/").split("/")[-1].title()
    )
    return replace(
        answers,
        tap_id=answers.tap_id or slug(answers.name, "-"),
        stream_name=stream_name,
        stream_id=answers.stream_id or slug(stream_name, "_"),
    )


#: Questions asked on a terminal: field, prompt, and when to ask.
QUESTIONS: tuple[tuple[str, str, Callable[[Answers], bool]], ...] = (
    ("name", "API name (e.g. Aircall)", lambda a: True),
    ("tap_id", "tap id (lowercase-hyphenated)", lambda a: True),
    ("base_url", "base URL (e.g. https://api.example.com/v1)", lambda a: True),
    ("auth", "authentication: none, api_key or basic", lambda a: True),
    ("api_key_location", "API key in: header or query", lambda a: a.auth == "api_key"),
    ("api_key_name", "API key header/parameter name", lambda a: a.auth == "api_key"),
    ("stream_path", "first stream's path (e.g. /users)", lambda a: True),
    ("stream_name", "first stream's name", lambda a: True),
    ("stream_id", "first stream's id (snake_case)", lambda a: True),
    ("records_selector", "JSONPath to the records", lambda a: True),
    ("primary_key", "primary key field (- for none)", lambda a: True),
)


#: Closed choices, checked before anything is rendered.
CHOICES = {"auth": AUTH_TYPES, "api_key_location": ("header", "query")}


def choice_problem(answers: Answers) -> str | None:
    """Why a closed-choice answer is not one of its choices, or None."""
    for name, allowed in CHOICES.items():
        value = getattr(answers, name)
        if value not in allowed:
            return f"{name} must be one of: {', '.join(allowed)} (not {value!r})"
    return None


def ask(
    answers: Answers,
    prompt: Callable[[str], str],
    say: Callable[[str], None] = print,
) -> Answers:
    """Ask each question in turn; an empty reply keeps the default shown."""
    for name, question, relevant in QUESTIONS:
        answers = with_defaults(answers)
        if not relevant(answers):
            continue
        while True:
            current = getattr(answers, name)
            reply = prompt(f"{question} [{current}]: ").strip()
            value = "" if reply == "-" else reply
            candidate = replace(answers, **{name: value}) if reply else answers
            allowed = CHOICES.get(name)
            if allowed is None or getattr(candidate, name) in allowed:
                answers = candidate
                break
            say(f"  please answer one of: {', '.join(allowed)}")
    return with_defaults(answers)


def render_starter(answers: Answers) -> str:
    """The starter spec's text.

    Raises:
        SpecError: when the answers do not make a valid spec (nothing is written).
    """
    answers = with_defaults(answers)
    if problem := choice_problem(answers):
        raise ValueError(problem)
    env = environment().overlay()
    env.filters["yaml_scalar"] = lambda value: json.dumps(
        str(value), ensure_ascii=False
    )
    text = env.get_template("init/spec.yaml.jinja").render(a=answers)
    validate_spec(parse_spec_text(text, Path(answers.spec_file)))
    return text


def answer_names() -> list[str]:
    """The fields of :class:`Answers` (flags mirror them)."""
    return [f.name for f in fields(Answers)]
