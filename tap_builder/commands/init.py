"""``tap-builder init``: a commented starter spec that validates.

Answers come from flags; on a terminal, what flags leave out is asked for.

Settings a spec refers to (``{config.NAME}``) must be declared parameters. The
user declares their own (``--param NAME[:type][:secret]``, or, on a terminal,
when an answer refers to one that is not declared yet); the settings the starter
authentication block refers to (``token``, ``username``, ``client_id``, ...) are
declared by init itself unless the user declared them. Every problem with the
answers names the flag that gives the answer, never a line of the file that is
not written.
"""

from __future__ import annotations

import json
import re
import typing as t
from dataclasses import dataclass, fields, replace
from pathlib import Path

from tap_builder.render.environment import environment
from tap_builder.runtime.variables import TemplateError, Variable, parse_template
from tap_builder.spec import SpecError, parse_spec_text
from tap_builder.spec.models import (
    BUILTIN_SETTINGS,
    PARAMETER_NAME_PATTERN,
    ParameterType,
)
from tap_builder.spec.validation import validate_spec

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

AUTH_TYPES = ("none", "api_key", "basic", "bearer", "headers", "oauth2", "session")
API_KEY_LOCATIONS = ("header", "query")
GRANT_TYPES = ("client_credentials", "refresh_token")
PARAMETER_TYPES: tuple[str, ...] = t.get_args(ParameterType)


class StarterError(ValueError):
    """The answers do not make a valid spec: one line per problem, naming a flag."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Param:
    """A parameter (config setting) the starter spec declares."""

    name: str
    type: str = "string"
    secret: bool = False
    label: str = ""
    description: str = ""

    def __str__(self) -> str:
        """As ``--param`` takes it: ``NAME[:type][:secret]``."""
        return (
            self.name
            + (f":{self.type}" if self.type != "string" else "")
            + (":secret" if self.secret else "")
        )


#: Settings the starter authentication blocks refer to; init declares each one
#: the authentication uses, unless the user declared it.
STARTER_PARAMS = {
    p.name: p
    for p in (
        Param("api_key", secret=True, label="API Key", description="The API key."),
        Param("username", label="Username"),
        Param("password", secret=True, label="Password"),
        Param("token", secret=True, label="Token", description="The API token."),
        Param("workspace", label="Workspace"),
        Param("client_id", label="Client ID", description="The OAuth2 client id."),
        Param(
            "client_secret",
            secret=True,
            label="Client Secret",
            description="The OAuth2 client secret.",
        ),
        Param(
            "refresh_token",
            secret=True,
            label="Refresh Token",
            description="An OAuth2 refresh token.",
        ),
    )
}

#: The headers of ``--auth headers`` when none are given (a two-key API).
STARTER_HEADERS = (
    ("Authorization", "Bearer {config.token}"),
    ("X-Workspace", "{config.workspace}"),
)


@dataclass(frozen=True)
class Answers:
    """What the starter spec is made from.

    Authentication answers are empty until :func:`with_defaults` fills in those
    the chosen authentication uses; one given for another authentication is an
    error (see :func:`input_problems`).
    """

    name: str = ""
    tap_id: str = ""
    domain: str = ""
    base_url: str = ""
    auth: str = "none"
    api_key_location: str = ""
    api_key_name: str = ""
    grant_type: str = ""
    token_url: str = ""
    login_url: str = ""
    token_selector: str = ""
    auth_headers: tuple[tuple[str, str], ...] = ()
    params: tuple[Param, ...] = ()
    stream_name: str = ""
    stream_id: str = ""
    stream_path: str = ""
    records_selector: str = "$[*]"
    primary_key: str = "id"
    spec_file: str = "spec.yaml"


#: The flag that gives each answer.
FLAGS = {
    "name": "--name",
    "tap_id": "--tap-id",
    "domain": "--domain",
    "base_url": "--base-url",
    "auth": "--auth",
    "api_key_location": "--api-key-location",
    "api_key_name": "--api-key-name",
    "grant_type": "--grant-type",
    "token_url": "--token-url",
    "login_url": "--login-url",
    "token_selector": "--token-selector",
    "auth_headers": "--auth-header",
    "params": "--param",
    "stream_name": "--stream-name",
    "stream_id": "--stream-id",
    "stream_path": "--stream-path",
    "records_selector": "--records-selector",
    "primary_key": "--primary-key",
}

#: Authentication answers: the authentication that uses each.
AUTH_ANSWERS = {
    "api_key_location": "api_key",
    "api_key_name": "api_key",
    "grant_type": "oauth2",
    "token_url": "oauth2",
    "login_url": "session",
    "token_selector": "session",
    "auth_headers": "headers",
}

#: Closed choices, checked before anything is rendered.
CHOICES = {
    "auth": AUTH_TYPES,
    "api_key_location": API_KEY_LOCATIONS,
    "grant_type": GRANT_TYPES,
}

#: Answers that may hold ``{config.NAME}`` variables, and what each is called.
TEMPLATED = {
    "base_url": "the base URL",
    "token_url": "the token URL",
    "login_url": "the login URL",
    "auth_headers": "the authentication headers",
    "stream_path": "the stream path",
}


def slug(text: str, separator: str) -> str:
    """``My API v2`` -> ``my-api-v2`` (or ``my_api_v2``)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    joined = separator.join(words)
    return (
        joined if joined[:1].isalpha() else ("x" + separator + joined if joined else "")
    )


def _auth_defaults(answers: Answers) -> dict[str, t.Any]:
    """Starter values for the answers the chosen authentication uses."""
    if answers.auth == "api_key":
        location = answers.api_key_location or "header"
        return {
            "api_key_location": location,
            "api_key_name": "X-API-Key" if location == "header" else "api_key",
        }
    if answers.auth == "oauth2":
        return {"grant_type": "client_credentials", "token_url": "/oauth/token"}
    if answers.auth == "session":
        return {"login_url": "/login", "token_selector": "$.token"}
    if answers.auth == "headers":
        token = credential(answers, "token")
        return {
            "auth_headers": tuple(
                (name, value.replace("{config.token}", f"{{config.{token}}}"))
                for name, value in STARTER_HEADERS
            )
        }
    return {}


def with_defaults(answers: Answers) -> Answers:
    """Fill what can be derived.

    Ids from names, the stream from its path, and starter values for what the
    chosen authentication uses.
    """
    stream_name = (
        answers.stream_name or answers.stream_path.strip("/").split("/")[-1].title()
    )
    auth = {
        name: value
        for name, value in _auth_defaults(answers).items()
        if not getattr(answers, name)
    }
    return replace(
        answers,
        tap_id=answers.tap_id or slug(answers.name, "-"),
        stream_name=stream_name,
        stream_id=answers.stream_id or slug(stream_name, "_"),
        **auth,
    )


# --------------------------------------------------------------------------- #
# Parameters and headers as flags give them
# --------------------------------------------------------------------------- #


def parse_param(text: str) -> Param:
    """``NAME[:type][:secret]`` -> a :class:`Param` (type string by default).

    Raises:
        ValueError: with what is wrong (without the flag).
    """
    name, *rest = (part.strip() for part in text.split(":"))
    if problem := parameter_name_problem(name):
        raise ValueError(problem)
    kind = "string"
    secret = False
    for part in rest:
        if not part:  # "store::secret", or ":secret" answered on a terminal
            continue
        if part == "secret" and not secret:
            secret = True
        elif part in PARAMETER_TYPES and kind == "string" and part != "string":
            kind = part
        elif part == "string" and kind == "string":
            continue
        else:
            msg = (
                f"{part!r} is not a type or 'secret'; write NAME[:type][:secret], "
                f"type one of: {', '.join(PARAMETER_TYPES)}"
            )
            raise ValueError(msg)
    return Param(name, kind, secret)


def parameter_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a parameter of the spec, or None."""
    if not re.fullmatch(PARAMETER_NAME_PATTERN, name):
        suggestion = slug(name, "_") or "shop_name"
        return (
            f"{name!r} is not a parameter name: lowercase letters, digits and _, "
            f"starting with a letter or _ (e.g. {suggestion})"
        )
    if name in BUILTIN_SETTINGS:
        return (
            f"{name!r} is a built-in setting every tap has; "
            "choose another name for a parameter of your own"
        )
    return None


def parse_params(texts: Iterable[str]) -> tuple[Param, ...]:
    """The ``--param`` flags, in order.

    Raises:
        StarterError: naming ``--param`` and the value for each bad one.
    """
    params: list[Param] = []
    problems: list[str] = []
    for text in texts:
        try:
            param = parse_param(text)
        except ValueError as exc:
            problems.append(f"--param {text}: {exc}")
            continue
        if any(p.name == param.name for p in params):
            problems.append(f"--param {text}: {param.name!r} is declared twice")
            continue
        params.append(param)
    if problems:
        raise StarterError(problems)
    return tuple(params)


#: A header name followed by ``=``: where the next header starts in a reply.
_NEXT_HEADER = re.compile(r",\s*(?=[!#$%&'*+.^_`|~0-9A-Za-z-]+=)")


def parse_header(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` -> ``(NAME, VALUE)``.

    Raises:
        ValueError: when there is no ``=`` or no name.
    """
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        msg = "write NAME=VALUE, e.g. X-Workspace={config.workspace}"
        raise ValueError(msg)
    return name.strip(), value.strip()


def parse_auth_headers(texts: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """The ``--auth-header`` flags, in order.

    Raises:
        StarterError: naming ``--auth-header`` and the value for each bad one.
    """
    headers: list[tuple[str, str]] = []
    problems: list[str] = []
    for text in texts:
        try:
            name, value = parse_header(text)
        except ValueError as exc:
            problems.append(f"--auth-header {text}: {exc}")
            continue
        if any(name.lower() == known.lower() for known, _ in headers):
            problems.append(f"--auth-header {text}: the header {name} is given twice")
            continue
        headers.append((name, value))
    if problems:
        raise StarterError(problems)
    return tuple(headers)


# --------------------------------------------------------------------------- #
# What the spec is made of
# --------------------------------------------------------------------------- #


def credential(answers: Answers, starter: str) -> str:
    """The setting a one-credential authentication (api_key, bearer) sends.

    The secret parameter the user declared, when there is exactly one;
    otherwise ``starter`` (``api_key``, ``token``), declared by init unless the
    user declared it.
    """
    secrets = [p.name for p in answers.params if p.secret]
    return secrets[0] if len(secrets) == 1 else starter


def auth_block(answers: Answers) -> dict[str, t.Any]:
    """The ``authentication`` block of the starter spec."""
    a = with_defaults(answers)
    if a.auth == "api_key":
        return {
            "type": "api_key",
            "location": a.api_key_location,
            "name": a.api_key_name,
            "value": f"{{config.{credential(a, 'api_key')}}}",
        }
    if a.auth == "basic":
        return {
            "type": "basic",
            "username": "{config.username}",
            "password": "{config.password}",
        }
    if a.auth == "bearer":
        return {"type": "bearer", "token": f"{{config.{credential(a, 'token')}}}"}
    if a.auth == "headers":
        return {"type": "headers", "headers": dict(a.auth_headers)}
    if a.auth == "oauth2":
        block = {
            "type": "oauth2",
            "grant_type": a.grant_type,
            "token_url": a.token_url,
            "client_id": "{config.client_id}",
            "client_secret": "{config.client_secret}",
        }
        if a.grant_type == "refresh_token":
            block["refresh_token"] = "{config.refresh_token}"  # noqa: S105 - a variable
        return block
    if a.auth == "session":
        return {
            "type": "session",
            "login_url": a.login_url,
            "body": {"username": "{config.username}", "password": "{config.password}"},
            "token_selector": a.token_selector,
            "header": "Authorization",
            "prefix": "Bearer ",
        }
    return {"type": "none"}


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    return []


def _variables(text: str) -> list[Variable]:
    """The variables in ``text``; none when it is malformed (reported elsewhere)."""
    try:
        return [part for part in parse_template(text) if isinstance(part, Variable)]
    except TemplateError:
        return []


def parameters(answers: Answers) -> tuple[Param, ...]:
    """The parameters the spec declares.

    The user's own, then each starter setting (:data:`STARTER_PARAMS`) that the
    authentication block refers to and the user did not declare.
    """
    names = {p.name for p in answers.params}
    added: list[Param] = []
    for text in _strings(auth_block(answers)):
        for variable in _variables(text):
            name = variable.name
            if variable.from_config and name in STARTER_PARAMS and name not in names:
                added.append(STARTER_PARAMS[name])
                names.add(name)
    return (*answers.params, *added)


def _texts(answers: Answers, name: str) -> list[str]:
    if name == "auth_headers":
        return [value for _, value in answers.auth_headers]
    return [str(getattr(answers, name))]


def variable_problems(answers: Answers, name: str) -> tuple[list[str], list[str]]:
    """What is wrong with the variables of one answer.

    Returns:
        Problems (malformed text, context variables, built-in settings), and
        the names of settings it refers to that are not declared (yet).
    """
    answers = with_defaults(answers)
    declared = {p.name for p in parameters(answers)}
    problems: list[str] = []
    missing: list[str] = []
    for text in _texts(answers, name):
        try:
            found = [p for p in parse_template(text) if isinstance(p, Variable)]
        except TemplateError as exc:
            problems.append(str(exc))
            continue
        for variable in found:
            setting = variable.name
            if not variable.from_config:
                problems.append(
                    f"{variable} is a parent-context variable, but the starter's "
                    f"stream has no parent stream; a setting is written "
                    f"{{config.{setting}}}"
                )
            elif setting in declared or setting in missing:
                continue
            elif setting == "api_url":
                if name == "base_url":
                    problems.append(
                        "{config.api_url} cannot be used in the base URL: the "
                        "api_url setting replaces the whole base URL"
                    )
            elif setting in BUILTIN_SETTINGS:
                problems.append(
                    f"{variable} names the built-in setting {setting!r}, which this "
                    "spec cannot refer to; declare a parameter of your own "
                    "(under another name) with --param"
                )
            elif not re.fullmatch(PARAMETER_NAME_PATTERN, setting):
                problems.append(
                    f"{variable} cannot name a parameter: parameter names are "
                    "lowercase letters, digits and _ "
                    f"(e.g. {{config.{slug(setting, '_') or 'name'}}})"
                )
            else:
                missing.append(setting)
    return problems, missing


def choice_problem(answers: Answers, name: str) -> str | None:
    """Why a closed-choice answer is not one of its choices, or None."""
    allowed = CHOICES[name]
    value = getattr(answers, name)
    if name in AUTH_ANSWERS and answers.auth != AUTH_ANSWERS[name] and not value:
        return None
    if value not in allowed:
        return f"{value!r} is not one of: {', '.join(allowed)}"
    return None


#: Answers nothing can be derived from, and what each is.
REQUIRED = {
    "name": "the API's name, e.g. Aircall",
    "base_url": "the API's base URL, e.g. https://api.example.com/v1",
    "stream_path": "the first stream's path, e.g. /users",
}


def input_problems(answers: Answers) -> list[str]:
    """Every problem with the answers, one line each, naming the flag."""
    answers = with_defaults(answers)
    problems = [
        f"{FLAGS[name]} is required: {what}"
        for name, what in REQUIRED.items()
        if not getattr(answers, name).strip()
    ]
    problems += [
        f"{FLAGS[name]}: {problem}"
        for name in CHOICES
        if (problem := choice_problem(answers, name))
    ]
    if problems:
        return problems
    for name, auth in AUTH_ANSWERS.items():
        if answers.auth != auth and getattr(answers, name):
            problems.append(
                f"{FLAGS[name]} is for --auth {auth}, not --auth {answers.auth}"
            )
    for name in TEMPLATED:
        found, missing = variable_problems(answers, name)
        problems += [f"{FLAGS[name]}: {problem}" for problem in found]
        problems += [
            f"{FLAGS[name]}: {{config.{setting}}} refers to an undeclared parameter; "
            f"declare it with --param {setting}"
            for setting in missing
        ]
    return problems


# --------------------------------------------------------------------------- #
# Questions on a terminal
# --------------------------------------------------------------------------- #


def _is(auth: str) -> Callable[[Answers], bool]:
    return lambda a: a.auth == auth


#: Questions asked on a terminal: field, prompt, and when to ask.
QUESTIONS: tuple[tuple[str, str, Callable[[Answers], bool]], ...] = (
    ("name", "API name (e.g. Aircall)", lambda a: True),
    ("tap_id", "tap id (lowercase-hyphenated)", lambda a: True),
    ("base_url", "base URL (e.g. https://api.example.com/v1)", lambda a: True),
    (
        "auth",
        "authentication: none, api_key, basic, bearer, headers, oauth2 or session",
        lambda a: True,
    ),
    ("api_key_location", "API key in: header or query", _is("api_key")),
    ("api_key_name", "API key header/parameter name", _is("api_key")),
    (
        "auth_headers",
        "headers sent with every request (NAME=VALUE, comma-separated)",
        _is("headers"),
    ),
    ("grant_type", "OAuth2 grant: client_credentials or refresh_token", _is("oauth2")),
    (
        "token_url",
        "token endpoint (a URL, or a path after the base URL)",
        _is("oauth2"),
    ),
    (
        "login_url",
        "login endpoint (a URL, or a path after the base URL)",
        _is("session"),
    ),
    ("token_selector", "JSONPath to the token in the login answer", _is("session")),
    ("stream_path", "first stream's path (e.g. /users)", lambda a: True),
    ("stream_name", "first stream's name", lambda a: True),
    ("stream_id", "first stream's id (snake_case)", lambda a: True),
    ("records_selector", "JSONPath to the records", lambda a: True),
    ("primary_key", "primary key field (- for none)", lambda a: True),
)


def _shown(answers: Answers, name: str) -> str:
    if name == "auth_headers":
        return ", ".join(f"{key}={value}" for key, value in answers.auth_headers)
    return str(getattr(answers, name))


def _parsed(name: str, reply: str) -> str | tuple[tuple[str, str], ...]:
    """A reply as the answer's value ("" for ``-``).

    Raises:
        ValueError: when the reply cannot be read.
    """
    if reply == "-":
        return () if name == "auth_headers" else ""
    if name == "auth_headers":
        headers = [parse_header(part) for part in _NEXT_HEADER.split(reply)]
        names = [key.lower() for key, _ in headers]
        for key, _ in headers:
            if names.count(key.lower()) > 1:
                msg = f"the header {key} is given twice"
                raise ValueError(msg)
        return tuple(headers)
    return reply


def _reply_problem(answers: Answers, name: str) -> str | None:
    """Why an answer cannot be kept (the question is asked again), or None."""
    if name in CHOICES and choice_problem(answers, name):
        return f"please answer one of: {', '.join(CHOICES[name])}"
    if name in TEMPLATED:
        problems, _ = variable_problems(answers, name)
        if problems:
            return "; ".join(problems)
    return None


def _declare(
    answers: Answers,
    name: str,
    prompt: Callable[[str], str],
    say: Callable[[str], None],
) -> Answers:
    """Ask the type of each setting an answer refers to that is not declared."""
    _, missing = variable_problems(answers, name)
    for setting in missing:
        while True:
            reply = prompt(
                f"parameter {setting!r} (used in {TEMPLATED[name]}): "
                "type[:secret] [string]: "
            ).strip()
            try:
                param = parse_param(f"{setting}:{reply}" if reply else setting)
            except ValueError as exc:
                say(f"  {exc}")
                continue
            answers = replace(answers, params=(*answers.params, param))
            break
    return answers


def ask(
    answers: Answers,
    prompt: Callable[[str], str],
    say: Callable[[str], None] = print,
) -> Answers:
    """Ask each question in turn; an empty reply keeps the default shown.

    A setting an answer refers to that is not declared is asked for right
    after (its type, and whether it is a secret).
    """
    for name, question, relevant in QUESTIONS:
        # Derived answers are shown, not stored: they follow later answers
        # (the API key's name follows its location).
        view = with_defaults(answers)
        if not relevant(view):
            continue
        while True:
            reply = prompt(f"{question} [{_shown(view, name)}]: ").strip()
            if not reply:
                candidate = answers
            else:
                try:
                    value = _parsed(name, reply)
                except ValueError as exc:
                    say(f"  {exc}")
                    continue
                candidate = replace(
                    answers, **t.cast("dict[str, t.Any]", {name: value})
                )
            if problem := _reply_problem(with_defaults(candidate), name):
                say(f"  {problem}")
                continue
            answers = candidate
            break
        if name in TEMPLATED:
            answers = _declare(answers, name, prompt, say)
    return with_defaults(answers)


# --------------------------------------------------------------------------- #
# Rendering
# --------------------------------------------------------------------------- #

#: Spec fields (as validation reports them) and the flag that sets each.
_FIELD_FLAGS = (
    ("streams[0].primary_key", "primary_key"),
    ("streams[0].schema", "primary_key"),
    ("streams[0].records_selector", "records_selector"),
    ("streams[0].name", "stream_name"),
    ("streams[0].id", "stream_id"),
    ("streams[0].path", "stream_path"),
    ("authentication.location", "api_key_location"),
    ("authentication.name", "api_key_name"),
    ("authentication.headers", "auth_headers"),
    ("authentication.grant_type", "grant_type"),
    ("authentication.token_url", "token_url"),
    ("authentication.login_url", "login_url"),
    ("authentication.token_selector", "token_selector"),
    ("parameters", "params"),
    ("base_url", "base_url"),
    ("tap_id", "tap_id"),
    ("domain", "domain"),
    ("description", "name"),
    ("name", "name"),
)


def flag_of(path: str) -> str | None:
    """The flag that sets the spec field at ``path`` (``streams[0].id``), or None."""
    for prefix, answer in _FIELD_FLAGS:
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return FLAGS[answer]
    return None


def _spec_problems(error: SpecError) -> list[str]:
    """A spec's problems as init's: by flag, without lines of an unwritten file."""
    lines = []
    for issue in error.issues:
        flag = flag_of(issue.path)
        where = flag or f"the starter spec's {issue.path or 'text'}"
        lines.append(f"{where}: {issue.message}")
    return lines


def render_starter(answers: Answers) -> str:
    """The starter spec's text.

    Raises:
        StarterError: when the answers do not make a valid spec (nothing is
            written); one line per problem, each naming the flag to fix.
    """
    answers = with_defaults(answers)
    if problems := input_problems(answers):
        raise StarterError(problems)
    env = environment().overlay()
    env.filters["yaml_scalar"] = lambda value: json.dumps(
        str(value), ensure_ascii=False
    )
    text = env.get_template("init/spec.yaml.jinja").render(
        a=answers, auth=auth_block(answers), params=parameters(answers)
    )
    try:
        validate_spec(parse_spec_text(text, Path(answers.spec_file)))
    except SpecError as exc:
        raise StarterError(_spec_problems(exc)) from None
    return text


def answer_names() -> list[str]:
    """The fields of :class:`Answers` (flags mirror them)."""
    return [f.name for f in fields(Answers)]
