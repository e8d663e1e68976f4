"""init: declared parameters (--param), every authentication type, errors by flag."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from tap_builder import load_spec, validate_spec
from tap_builder.cli import main
from tap_builder.commands.init import (
    AUTH_TYPES,
    Answers,
    Param,
    StarterError,
    ask,
    render_starter,
)
from tap_builder.commands.inprocess import generated_tap, tap_class

BASE = ["--name", "Shop", "--stream-path", "/orders", "--no-input"]


def _init(
    target: Path, capsys: pytest.CaptureFixture[str], *flags: str
) -> tuple[int, str, str]:
    code = main(["init", str(target), *flags])
    out, err = capsys.readouterr()
    return code, out, err


def _spec(target: Path) -> t.Any:
    return validate_spec(load_spec(target)).spec


def _params(spec: t.Any) -> list[tuple[str, str, bool]]:
    return [(p.name, p.type, p.secret) for p in spec.parameters]


# --------------------------------------------------------------------------- #
# Parameters in the base URL
# --------------------------------------------------------------------------- #


def test_param_makes_a_base_url_variable_usable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--param declares what --base-url refers to; the spec validates as written."""
    target = tmp_path / "shop.yaml"
    code, out, err = _init(
        target,
        capsys,
        *BASE,
        "--base-url",
        "https://{config.store}.example.com/v1",
        "--param",
        "store:string",
        "--param",
        "api_token:string:secret",
        "--param",
        "page_size:integer",
        "--auth",
        "bearer",
    )
    assert (code, err) == (0, "")
    assert out == f"wrote {target}; next: tap-builder validate {target}\n"
    spec = _spec(target)
    assert spec.base_url == "https://{config.store}.example.com/v1"
    assert _params(spec) == [
        ("store", "string", False),
        ("api_token", "string", True),
        ("page_size", "integer", False),
    ]
    # The one secret the user declared is the bearer token: no extra `token`.
    assert spec.authentication.token == "{config.api_token}"
    text = target.read_text()
    assert (
        "# config.json holds the settings under `parameters`: "
        "store, api_token, page_size\n" in text
    )
    assert main(["validate", str(target)]) == 0
    assert capsys.readouterr().out == f"{target}: valid (1 streams: orders)\n"


def test_undeclared_base_url_variable_names_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The new user's error: no line of an unwritten file, no api_url suggestion."""
    target = tmp_path / "spec.yaml"
    code, out, err = _init(
        target, capsys, *BASE, "--base-url", "https://{config.shop}.example.com/v1"
    )
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "error: --base-url: {config.shop} refers to an undeclared parameter; "
        "declare it with --param shop",
        f"nothing written to {target}",
    ]
    assert not target.exists()


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        (
            "https://{config.api_url}/v1",
            "--base-url: {config.api_url} cannot be used in the base URL: the "
            "api_url setting replaces the whole base URL",
        ),
        (
            "https://x.test/{config.start_date}",
            "--base-url: {config.start_date} names the built-in setting "
            "'start_date', which this spec cannot refer to; declare a parameter of "
            "your own (under another name) with --param",
        ),
        (
            "https://{shop}.x.test",
            "--base-url: {shop} is a parent-context variable, but the starter's "
            "stream has no parent stream; a setting is written {config.shop}",
        ),
        (
            "https://{config.Shop}.x.test",
            "--base-url: {config.Shop} cannot name a parameter: parameter names are "
            "lowercase letters, digits and _ (e.g. {config.shop})",
        ),
        (
            "https://{config.shop.x.test",
            "--base-url: lone '{' at character 9; variables look like "
            "{config.NAME} or {NAME}, and a literal brace is written '{{'",
        ),
    ],
)
def test_bad_base_url_variables_name_the_flag(
    base_url: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each problem in --base-url is one line naming the flag; nothing is written."""
    target = tmp_path / "spec.yaml"
    code, _, err = _init(target, capsys, *BASE, "--base-url", base_url)
    assert code == 1
    assert err.splitlines() == [
        f"error: {problem}",
        f"nothing written to {target}",
    ]
    assert not target.exists()


def test_bad_params_name_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every bad --param is reported at once, each with its value."""
    target = tmp_path / "spec.yaml"
    code, _, err = _init(
        target,
        capsys,
        *BASE,
        "--base-url",
        "https://x.test",
        "--param",
        "Shop-Name",
        "--param",
        "api_url",
        "--param",
        "size:text",
        "--param",
        "store",
        "--param",
        "store:integer",
    )
    assert code == 1
    assert err.splitlines() == [
        "error: --param Shop-Name: 'Shop-Name' is not a parameter name: lowercase "
        "letters, digits and _, starting with a letter or _ (e.g. shop_name)",
        "error: --param api_url: 'api_url' is a built-in setting every tap has; "
        "choose another name for a parameter of your own",
        "error: --param size:text: 'text' is not a type or 'secret'; write "
        "NAME[:type][:secret], type one of: string, integer, number, boolean, "
        "date-time, list",
        "error: --param store:integer: 'store' is declared twice",
        f"nothing written to {target}",
    ]
    assert not target.exists()


def test_param_types_and_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every parameter type of the spec, and secret without a type."""
    target = tmp_path / "spec.yaml"
    code, _, err = _init(
        target,
        capsys,
        *BASE,
        "--base-url",
        "https://x.test/{config.version}",
        "--param",
        "version",
        "--param",
        "limit:integer",
        "--param",
        "ratio:number",
        "--param",
        "archived:boolean",
        "--param",
        "since:date-time",
        "--param",
        "key:secret",
    )
    assert code == 0, err
    assert _params(_spec(target)) == [
        ("version", "string", False),
        ("limit", "integer", False),
        ("ratio", "number", False),
        ("archived", "boolean", False),
        ("since", "date-time", False),
        ("key", "string", True),
    ]


def test_stream_path_variables_must_be_declared_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--stream-path is checked like --base-url."""
    target = tmp_path / "spec.yaml"
    flags = ["--name", "Shop", "--base-url", "https://x.test", "--no-input"]
    code, _, err = _init(
        target, capsys, *flags, "--stream-path", "/stores/{config.store}/orders"
    )
    assert code == 1
    assert err.splitlines()[0] == (
        "error: --stream-path: {config.store} refers to an undeclared parameter; "
        "declare it with --param store"
    )
    code, _, err = _init(
        target,
        capsys,
        *flags,
        "--stream-path",
        "/stores/{config.store}/orders",
        "--param",
        "store",
    )
    assert code == 0, err
    assert _spec(target).streams[0].path == "/stores/{config.store}/orders"


def test_missing_answers_name_their_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a terminal, what cannot be derived must be given."""
    target = tmp_path / "spec.yaml"
    code, _, err = _init(target, capsys, "--no-input")
    assert code == 1
    assert err.splitlines() == [
        "error: --name is required: the API's name, e.g. Aircall",
        "error: --base-url is required: the API's base URL, e.g. "
        "https://api.example.com/v1",
        "error: --stream-path is required: the first stream's path, e.g. /users",
        f"nothing written to {target}",
    ]


def test_spec_problems_name_flags_not_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What only validation finds is reported by flag, without a file line."""
    target = tmp_path / "spec.yaml"
    code, _, err = _init(
        target,
        capsys,
        *BASE,
        "--base-url",
        "https://x.test",
        "--tap-id",
        "Bad_Id",
        "--stream-id",
        "Bad Id",
    )
    assert code == 1
    assert err.splitlines() == [
        "error: --tap-id: 'Bad_Id' is not valid: use lowercase letters and digits "
        "in hyphen-separated words, starting with a letter (e.g. sage-intacct)",
        "error: --stream-id: 'Bad Id' is not valid: use snake_case: lowercase "
        "letters, digits and _, not starting with a digit",
        f"nothing written to {target}",
    ]
    assert str(target) + ":" not in err


# --------------------------------------------------------------------------- #
# Every authentication type
# --------------------------------------------------------------------------- #

#: (case id, flags, authentication fields, parameters) for each kind the spec has.
AUTH_CASES: list[tuple[str, list[str], dict[str, t.Any], list[tuple[str, str, bool]]]]
AUTH_CASES = [
    ("none", ["--auth", "none"], {"type": "none"}, []),
    (
        "api_key-header",
        ["--auth", "api_key"],
        {
            "type": "api_key",
            "location": "header",
            "name": "X-API-Key",
            "value": "{config.api_key}",
        },
        [("api_key", "string", True)],
    ),
    (
        "api_key-query",
        ["--auth", "api_key", "--api-key-location", "query"],
        {
            "type": "api_key",
            "location": "query",
            "name": "api_key",
            "value": "{config.api_key}",
        },
        [("api_key", "string", True)],
    ),
    (
        "basic",
        ["--auth", "basic"],
        {
            "type": "basic",
            "username": "{config.username}",
            "password": "{config.password}",
        },
        [("username", "string", False), ("password", "string", True)],
    ),
    (
        "bearer",
        ["--auth", "bearer"],
        {"type": "bearer", "token": "{config.token}"},
        [("token", "string", True)],
    ),
    (
        "headers",
        ["--auth", "headers"],
        {
            "type": "headers",
            "headers": {
                "Authorization": "Bearer {config.token}",
                "X-Workspace": "{config.workspace}",
            },
        },
        [("token", "string", True), ("workspace", "string", False)],
    ),
    (
        "oauth2-client_credentials",
        ["--auth", "oauth2"],
        {
            "type": "oauth2",
            "grant_type": "client_credentials",
            "token_url": "/oauth/token",
            "client_id": "{config.client_id}",
            "client_secret": "{config.client_secret}",
            "refresh_token": None,
        },
        [("client_id", "string", False), ("client_secret", "string", True)],
    ),
    (
        "oauth2-refresh_token",
        [
            "--auth",
            "oauth2",
            "--grant-type",
            "refresh_token",
            "--token-url",
            "https://auth.x.test/token",
        ],
        {
            "type": "oauth2",
            "grant_type": "refresh_token",
            "token_url": "https://auth.x.test/token",
            "client_id": "{config.client_id}",
            "client_secret": "{config.client_secret}",
            "refresh_token": "{config.refresh_token}",
        },
        [
            ("client_id", "string", False),
            ("client_secret", "string", True),
            ("refresh_token", "string", True),
        ],
    ),
    (
        "session",
        ["--auth", "session", "--token-selector", "$.session.token"],
        {
            "type": "session",
            "login_url": "/login",
            "body": {"username": "{config.username}", "password": "{config.password}"},
            "token_selector": "$.session.token",
            "header": "Authorization",
            "prefix": "Bearer ",
        },
        [("username", "string", False), ("password", "string", True)],
    ),
]


def test_auth_cases_cover_every_authentication_type() -> None:
    """The parametrized cases below exercise every type the spec has."""
    assert {fields["type"] for _, _, fields, _ in AUTH_CASES} == set(AUTH_TYPES)


@pytest.mark.parametrize(
    ("flags", "fields", "params"),
    [case[1:] for case in AUTH_CASES],
    ids=[case[0] for case in AUTH_CASES],
)
def test_every_auth_type_validates_and_generates(
    flags: list[str],
    fields: dict[str, t.Any],
    params: list[tuple[str, str, bool]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """init -> validate -> generate for each authentication; the package compiles."""
    target = tmp_path / "spec.yaml"
    code, _, err = _init(
        target,
        capsys,
        *BASE,
        "--base-url",
        "https://{config.store}.example.com/v1",
        "--param",
        "store",
        *flags,
    )
    assert code == 0, err
    assert main(["validate", str(target)]) == 0
    spec = _spec(target)
    dumped = spec.authentication.model_dump()
    assert {key: dumped[key] for key in fields} == fields
    assert _params(spec) == [("store", "string", False), *params]
    out = tmp_path / "tap-shop"
    assert main(["generate", str(target), "-o", str(out)]) == 0, capsys.readouterr()
    sources = sorted(out.rglob("*.py"))
    assert sources
    for source in sources:
        compile(source.read_text(encoding="utf-8"), str(source), "exec")
    connector = validate_spec(load_spec(target))
    with generated_tap(connector) as module:
        settings = tap_class(module).config_jsonschema["properties"]
    for name, _, secret in [("store", "string", False), *params]:
        assert bool(settings[name].get("secret")) is secret, name


def test_declared_setting_wins_over_the_starter_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A setting the user declared is not declared again by the authentication."""
    target = tmp_path / "spec.yaml"
    code, _, err = _init(
        target,
        capsys,
        *BASE,
        "--base-url",
        "https://x.test",
        "--auth",
        "basic",
        "--param",
        "username:secret",
    )
    assert code == 0, err
    assert _params(_spec(target)) == [
        ("username", "string", True),
        ("password", "string", True),
    ]


def test_auth_headers_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--auth-header values refer to declared settings; init declares its own."""
    target = tmp_path / "spec.yaml"
    flags = [*BASE, "--base-url", "https://x.test", "--auth", "headers"]
    headers = ["--auth-header", "X-Key={config.key}", "--auth-header", "X-Team=ops"]
    code, _, err = _init(target, capsys, *flags, *headers)
    assert code == 1
    assert err.splitlines() == [
        "error: --auth-header: {config.key} refers to an undeclared parameter; "
        "declare it with --param key",
        f"nothing written to {target}",
    ]
    code, _, err = _init(target, capsys, *flags, *headers, "--param", "key:secret")
    assert code == 0, err
    spec = _spec(target)
    assert spec.authentication.headers == {"X-Key": "{config.key}", "X-Team": "ops"}
    assert _params(spec) == [("key", "string", True)]
    code, _, err = _init(target, capsys, *flags, "--auth-header", "X-Key", "--force")
    assert code == 1
    assert err.splitlines()[0] == (
        "error: --auth-header X-Key: write NAME=VALUE, e.g. "
        "X-Workspace={config.workspace}"
    )


def test_flags_of_another_auth_type_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An authentication flag that the chosen --auth does not use is an error."""
    target = tmp_path / "spec.yaml"
    code, _, err = _init(
        target,
        capsys,
        *BASE,
        "--base-url",
        "https://x.test",
        "--auth",
        "bearer",
        "--token-url",
        "/token",
        "--api-key-location",
        "query",
    )
    assert code == 1
    assert err.splitlines() == [
        "error: --api-key-location is for --auth api_key, not --auth bearer",
        "error: --token-url is for --auth oauth2, not --auth bearer",
        f"nothing written to {target}",
    ]
    code, _, err = _init(
        target, capsys, *BASE, "--base-url", "https://x.test", "--auth", "digest"
    )
    assert code == 1
    assert err.splitlines()[0] == (
        "error: --auth: 'digest' is not one of: none, api_key, basic, bearer, "
        "headers, oauth2, session"
    )


# --------------------------------------------------------------------------- #
# On a terminal
# --------------------------------------------------------------------------- #


def _asked(replies: list[str]) -> tuple[Answers, list[str], list[str]]:
    pending = iter(replies)
    prompts: list[str] = []
    said: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return next(pending)

    answers = ask(Answers(), prompt, said.append)
    assert next(pending, None) is None, "not every reply was asked for"
    return answers, prompts, said


def test_terminal_offers_every_auth_type_and_declares_parameters() -> None:
    """The auth question lists every type; an undeclared setting is asked for."""
    answers, prompts, said = _asked(
        [
            "Shop",
            "",
            "https://{config.store}.example.com/v1",
            "integer:maybe",
            ":secret",
            "oauth2",
            "password",
            "refresh_token",
            "",
            "/orders",
            "",
            "",
            "",
            "",
        ]
    )
    assert prompts[5] == (
        "authentication: none, api_key, basic, bearer, headers, oauth2 or session "
        "[none]: "
    )
    assert (
        prompts[3]
        == prompts[4]
        == ("parameter 'store' (used in the base URL): type[:secret] [string]: ")
    )
    assert said == [
        "  'maybe' is not a type or 'secret'; write NAME[:type][:secret], type one "
        "of: string, integer, number, boolean, date-time, list",
        "  please answer one of: client_credentials, refresh_token",
    ]
    assert answers.params == (Param("store", "string", True),)
    assert answers.grant_type == "refresh_token"
    assert answers.token_url == "/oauth/token"
    spec = render_starter(answers)
    assert 'refresh_token: "{config.refresh_token}"' in spec


@pytest.mark.parametrize("auth", AUTH_TYPES)
def test_terminal_defaults_make_a_valid_spec_for_every_auth(auth: str) -> None:
    """Accepting every default after choosing an authentication renders a spec."""
    answers = Answers(name="Shop", base_url="https://x.test", stream_path="/orders")
    answers = ask(
        answers,
        lambda question: auth if question.startswith("authentication") else "",
        print,
    )
    assert answers.auth == auth
    text = render_starter(answers)
    assert f"  type: {auth}" in text


def test_terminal_reasks_a_bad_base_url() -> None:
    """A base URL init cannot use is asked again, with the reason."""
    answers, _, said = _asked(
        [
            "Shop",
            "",
            "https://{config.api_url}/v1",
            "https://x.test",
            "",
            "/orders",
            "",
            "",
            "",
            "",
        ]
    )
    assert said == [
        "  {config.api_url} cannot be used in the base URL: the api_url setting "
        "replaces the whole base URL"
    ]
    assert answers.base_url == "https://x.test"


def test_render_starter_raises_by_flag() -> None:
    """The library call gives the same problems as the command."""
    with pytest.raises(StarterError) as raised:
        render_starter(
            Answers(name="X", base_url="https://{config.x}.test", stream_path="/a")
        )
    assert raised.value.problems == [
        "--base-url: {config.x} refers to an undeclared parameter; "
        "declare it with --param x"
    ]
    assert json.dumps(raised.value.problems)  # plain strings


def test_terminal_headers_are_read_and_their_settings_declared() -> None:
    """Headers as NAME=VALUE, comma-separated (a comma may stay in a value)."""
    answers, prompts, said = _asked(
        [
            "Shop",
            "",
            "https://x.test",
            "headers",
            "nope",
            "X-Key={config.key}, X-Team=red,blue, X-Region=eu",
            "secret",
            "/orders",
            "",
            "",
            "",
            "",
        ]
    )
    assert prompts[4] == (
        "headers sent with every request (NAME=VALUE, comma-separated) "
        "[Authorization=Bearer {config.token}, X-Workspace={config.workspace}]: "
    )
    assert said == ["  write NAME=VALUE, e.g. X-Workspace={config.workspace}"]
    assert prompts[6] == (
        "parameter 'key' (used in the authentication headers): type[:secret] [string]: "
    )
    assert answers.auth_headers == (
        ("X-Key", "{config.key}"),
        ("X-Team", "red,blue"),
        ("X-Region", "eu"),
    )
    assert answers.params == (Param("key", "string", True),)
    spec = render_starter(answers)
    assert '"X-Team": "red,blue"' in spec


def test_init_points_editors_at_the_spec_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The starter's first line names spec.schema.json, which init writes next to
    it (once: a schema already there is left alone), and the starter fits it."""
    import jsonschema

    from tap_builder.cli import main
    from tap_builder.spec.schema import spec_json_schema_text

    target = tmp_path / "s.yaml"
    code = main(
        ["init", str(target), "--name", "X", "--base-url", "http://127.0.0.1:8765/x",
         "--stream-path", "/a", "--no-input"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert target.read_text().splitlines()[0] == (
        "# yaml-language-server: $schema=spec.schema.json"
    )
    schema_file = tmp_path / "spec.schema.json"
    assert schema_file.read_text() == spec_json_schema_text()
    starter = load_spec(target).data
    jsonschema.validate(starter, json.loads(schema_file.read_text()))
    schema_file.write_text("{}")
    other = ["init", str(tmp_path / "t.yaml"), "--name", "Y", "--stream-path", "/b"]
    assert main([*other, "--base-url", "http://127.0.0.1:8765/y", "--no-input"]) == 0
    assert schema_file.read_text() == "{}"
