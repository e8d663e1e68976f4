"""Authentication types beyond the basics: an API key with a prefix, JWT, AWS
Signature V4 and the OAuth2 authorization code. Spec validation (field paths),
generated code, and end to end: each feature spec generated, pip-installed and
synced against the demo API, which checks the credentials it is sent."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

import pytest
import yaml

from tap_builder import SpecError, load_spec, render_package, validate_spec
from tap_builder.cli import main
from tap_builder.demo import DemoServer, lab
from tests.e2e import SAMPLES, InstalledTap, install_taps

FEATURES = SAMPLES / "features"
#: The feature specs of this module, installed with one pip call.
AUTH_SPECS = (
    "lab_key_prefix",
    "lab_jwt",
    "lab_jwt_direct",
    "lab_aws",
    "lab_authcode",
)


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _spec_with(auth: dict[str, t.Any], tmp_path: Path) -> Path:
    data = yaml.safe_load((FEATURES / "lab_key_prefix.yaml").read_text())
    data["authentication"] = auth
    data["parameters"] = [
        {"name": name, "secret": True}
        for name in ("api_key", "private_key", "client_email", "aws_key", "aws_secret")
    ]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    (tmp_path / "item.schema.json").write_text(
        (FEATURES / "item.schema.json").read_text()
    )
    return path


def _issues(auth: dict[str, t.Any], tmp_path: Path) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as caught:
        validate_spec(load_spec(_spec_with(auth, tmp_path)))
    return [(i.path, i.message) for i in caught.value.issues]


KEY = {
    "type": "api_key",
    "location": "header",
    "name": "Authorization",
    "value": "{config.api_key}",
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"prefix": "Token\n"},
            [("authentication.prefix", "a header value cannot hold control")],
        ),
        (
            {"location": "query", "name": "key", "prefix": "Token "},
            [("authentication.prefix", "only a key sent in a header")],
        ),
        (
            {"prefix": "{config.api_key} "},
            [("authentication.prefix", "the prefix is literal text")],
        ),
    ],
    ids=["control-character", "query", "variable"],
)
def test_api_key_prefix_problems(
    changes: dict[str, str], expected: list[tuple[str, str]], tmp_path: Path
) -> None:
    """A bad prefix is reported at authentication.prefix."""
    issues = _issues({**KEY, **changes}, tmp_path)
    for path, fragment in expected:
        assert any(p == path and fragment in m for p, m in issues), issues


def _client_code(connector: t.Any) -> str:
    files = render_package(connector)
    return str(next(v for k, v in files.items() if k.name == "client.py"))


def test_api_key_without_prefix_writes_no_prefix(tmp_path: Path) -> None:
    """Generated code holds the prefix only when the spec sets one."""
    without = validate_spec(load_spec(_spec_with(KEY, tmp_path)))
    code = _client_code(without)
    assert 'value=self.render_secret("{config.api_key}")' in code
    code = _client_code(validate_spec(load_spec(FEATURES / "lab_key_prefix.yaml")))
    assert 'value="Token " + self.render_secret("{config.api_key}")' in str(code)


def test_validate_command_lists_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI: exit 1, one line per problem with its path, no traceback."""
    spec = _spec_with(
        {**KEY, "location": "query", "name": "key", "prefix": "{x}\n"}, tmp_path
    )
    assert main(["validate", str(spec)]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "authentication.prefix" in line]
    assert len(lines) == 3, err
    assert "Traceback" not in err


JWT = {
    "type": "jwt",
    "algorithm": "RS256",
    "key": "{config.private_key}",
    "claims": {"iss": "{config.client_email}"},
}


@pytest.mark.parametrize(
    ("changes", "path", "fragment"),
    [
        (
            {"key": "literal-secret"},
            "authentication.key",
            "the signing key is a secret",
        ),
        ({"claims": {"exp": 1}}, "authentication.claims.exp", "set by the tap"),
        ({"extra_params": {"a": "b"}}, "authentication.extra_params", "only with"),
        ({"algorithm": "none"}, "authentication.algorithm", "HS256"),
        ({"lifetime_seconds": 10}, "authentication.lifetime_seconds", "30"),
        ({"claims": {"aud": {"x": 1}}}, "authentication.claims.aud", ""),
    ],
    ids=[
        "literal-key",
        "timed-claim",
        "extra-without-url",
        "algorithm",
        "lifetime",
        "claim-object",
    ],
)
def test_jwt_problems(
    changes: dict[str, t.Any], path: str, fragment: str, tmp_path: Path
) -> None:
    """Each bad jwt key is reported at its field path."""
    issues = _issues({**JWT, **changes}, tmp_path)
    assert any(p == path and fragment in m for p, m in issues), issues


def test_jwt_code_and_dependency_only_when_used() -> None:
    """Only a jwt tap ships runtime/jwt_auth.py and depends on PyJWT."""
    for stem, used in (("lab_jwt", True), ("lab_key_prefix", False)):
        files = render_package(validate_spec(load_spec(FEATURES / f"{stem}.yaml")))
        names = {path.name for path in files}
        assert ("jwt_auth.py" in names) is used, stem
        pyproject = str(files[next(p for p in files if p.name == "pyproject.toml")])
        assert ("pyjwt[crypto]" in pyproject) is used, stem


def _rsa_pem() -> tuple[str, t.Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def test_jwt_runtime_signs_rs256_with_claims_and_lifetime() -> None:
    """RS256 with a PEM key: claims, iat/exp a lifetime apart, kid, valid signature."""
    import jwt

    from tap_builder.runtime.jwt_auth import JWTAuthenticator

    pem, public = _rsa_pem()
    auth = JWTAuthenticator(
        algorithm="RS256",
        key=pem,
        claims={"iss": "svc@example.com", "aud": "api"},
        lifetime=900,
        settings="private_key",
        key_id="k1",
    )
    token = auth.signed()
    assert jwt.get_unverified_header(token)["kid"] == "k1"
    claims = jwt.decode(token, public, algorithms=["RS256"], audience="api")
    assert claims["iss"] == "svc@example.com"
    assert claims["exp"] - claims["iat"] == 900


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "HS256"])
def test_jwt_bad_key_is_one_clear_error(algorithm: str) -> None:
    """A key that cannot sign: one message naming the settings, never the key."""
    from tap_builder.runtime.http import APIError
    from tap_builder.runtime.jwt_auth import JWTAuthenticator

    key = _rsa_pem()[0] if algorithm == "HS256" else "not-a-pem-key-xyz"
    auth = JWTAuthenticator(
        algorithm=algorithm, key=key, claims={}, lifetime=60, settings="private_key"
    )
    with pytest.raises(APIError) as caught:
        auth.signed()
    message = str(caught.value)
    assert f"cannot sign the JWT with {algorithm}" in message
    assert "Check the settings private_key" in message
    assert "not-a-pem-key-xyz" not in message and "PRIVATE KEY" not in message


AWS = {
    "type": "aws_sigv4",
    "access_key_id": "{config.aws_key}",
    "secret_access_key": "{config.aws_secret}",
    "region": "us-east-1",
    "service": "execute-api",
}


@pytest.mark.parametrize(
    ("changes", "path", "fragment"),
    [
        ({"secret_access_key": "abc"}, "authentication.secret_access_key", "secrets"),
        ({"session_token": "abc"}, "authentication.session_token", "secrets"),
        ({"region": "US East"}, "authentication.region", "not an AWS region name"),
        ({"service": ""}, "authentication.service", ""),
        ({"region": None}, "authentication.region", ""),
    ],
    ids=["literal-secret", "literal-token", "region", "empty-service", "no-region"],
)
def test_aws_sigv4_problems(
    changes: dict[str, t.Any], path: str, fragment: str, tmp_path: Path
) -> None:
    """Each bad aws_sigv4 key is reported at its field path."""
    issues = _issues({**AWS, **changes}, tmp_path)
    assert any(p == path and fragment in m for p, m in issues), issues


def test_aws_code_and_dependency_only_when_used() -> None:
    """Only an aws_sigv4 tap ships runtime/aws_sigv4.py and depends on botocore."""
    for stem, used in (("lab_aws", True), ("lab_jwt", False)):
        files = render_package(validate_spec(load_spec(FEATURES / f"{stem}.yaml")))
        assert ("aws_sigv4.py" in {path.name for path in files}) is used, stem
        pyproject = str(files[next(p for p in files if p.name == "pyproject.toml")])
        assert ('"botocore>=' in pyproject) is used, stem
        assert ('"botocore-stubs"' in pyproject) is used, stem


def _signed(url: str, secret: str = lab.AWS_SECRET_ACCESS_KEY) -> t.Any:
    import requests

    from tap_builder.runtime.aws_sigv4 import AWSSigV4Authenticator

    auth = AWSSigV4Authenticator(
        access_key_id=lab.AWS_ACCESS_KEY_ID,
        secret_access_key=secret,
        session_token=lab.AWS_SESSION_TOKEN,
        region=lab.AWS_REGION,
        service=lab.AWS_SERVICE,
    )
    return requests.Request("GET", url, auth=auth).prepare()


def _check(prepared: t.Any) -> None:
    from urllib.parse import parse_qs, urlsplit

    from tap_builder.demo import sigv4

    parts = urlsplit(prepared.url)
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers["host"] = parts.netloc
    sigv4.verify(
        sigv4.SignedRequest(
            "GET",
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            headers,
            b"",
        ),
        access_key_id=lab.AWS_ACCESS_KEY_ID,
        secret_access_key=lab.AWS_SECRET_ACCESS_KEY,
        session_token=lab.AWS_SESSION_TOKEN,
        region=lab.AWS_REGION,
        service=lab.AWS_SERVICE,
    )


def test_sigv4_signature_verifies_independently() -> None:
    """botocore's signature (query re-encoded: space, +, :) passes the
    independent check; another secret, or a changed query, does not."""
    from tap_builder.demo import sigv4

    url = "http://127.0.0.1:9/lab/v1/signed?b=2&filter=a+b%3Ac&a=x%2By"
    prepared = _signed(url)
    assert prepared.url.endswith("?b=2&filter=a%20b%3Ac&a=x%2By")
    assert prepared.headers["X-Amz-Security-Token"] == lab.AWS_SESSION_TOKEN
    _check(prepared)
    with pytest.raises(sigv4.SignatureError, match="does not match"):
        _check(_signed(url, secret="another-secret"))
    prepared.url = prepared.url.replace("b=2", "b=3")
    with pytest.raises(sigv4.SignatureError, match="does not match"):
        _check(prepared)


CODE = {
    "type": "oauth2",
    "grant_type": "authorization_code",
    "authorize_url": "/oauth/authorize",
    "token_url": "/oauth/token",
    "client_id": "{config.api_key}",
    "client_secret": "{config.private_key}",
}


@pytest.mark.parametrize(
    ("changes", "path", "fragment"),
    [
        ({"authorize_url": None}, "authentication.authorize_url", "required with"),
        (
            {"redirect_uri": "https://example.com/cb"},
            "authentication.redirect_uri",
            "http://127.0.0.1:PORT/PATH",
        ),
        (
            {"redirect_uri": "http://127.0.0.1/cb"},
            "authentication.redirect_uri",
            "with a port",
        ),
        (
            {"grant_type": "client_credentials"},
            "authentication.authorize_url",
            "only with grant_type: authorization_code",
        ),
    ],
    ids=["no-authorize-url", "not-loopback", "no-port", "wrong-grant"],
)
def test_authorization_code_problems(
    changes: dict[str, t.Any], path: str, fragment: str, tmp_path: Path
) -> None:
    """Each bad authorization-code key is reported at its field path."""
    auth = {k: v for k, v in {**CODE, **changes}.items() if v is not None}
    issues = _issues(auth, tmp_path)
    assert any(p == path and fragment in m for p, m in issues), issues


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _authcode_spec(tmp_path: Path, port: int) -> Path:
    text = (FEATURES / "lab_authcode.yaml").read_text()
    text = text.replace("127.0.0.1:8765", f"127.0.0.1:{port}")
    spec = tmp_path / "lab_authcode.yaml"
    spec.write_text(text)
    (tmp_path / "item.schema.json").write_text(
        (FEATURES / "item.schema.json").read_text()
    )
    return spec


def test_auth_command_refuses_other_authentication(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tap-builder auth`` on a spec without authorization_code: one error line."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"refresh_token_file": str(tmp_path / "rt.json")}))
    spec = str(FEATURES / "lab_refresh.yaml")
    assert main(["auth", spec, "--config", str(config), "--no-browser"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: tap-builder auth is for oauth2 authentication with grant_type: "
        "authorization_code; this spec's authentication is oauth2 (refresh_token)"
    ]


def test_auth_command_needs_the_token_file_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without refresh_token_file nothing starts (no consent to waste)."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"client_id": "c", "client_secret": "s"}))
    spec = str(_authcode_spec(tmp_path, _free_port()))
    assert main(["auth", spec, "--config", str(config), "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert "set refresh_token_file in the config" in err and "Traceback" not in err


def test_auth_command_waits_a_bounded_time(tmp_path: Path) -> None:
    """Nobody consents: the wait ends after --timeout with one clear error."""
    from tap_builder.commands.auth import AuthFlowError, run_auth

    spec = _authcode_spec(tmp_path, _free_port())
    connector = validate_spec(load_spec(spec))
    said: list[str] = []
    config = {
        "client_id": lab.CLIENT_ID,
        "client_secret": lab.CLIENT_SECRET,
        "refresh_token_file": str(tmp_path / "rt.json"),
    }
    started = time.monotonic()
    with pytest.raises(AuthFlowError, match="no redirect reached"):
        run_auth(connector, config, timeout=1, open_browser=False, say=said.append)
    assert time.monotonic() - started < 5
    assert "code_challenge_method=S256" in said[0]
    assert lab.CLIENT_SECRET not in "".join(said)
    assert not (tmp_path / "rt.json").exists()


# --------------------------------------------------------------------------- #
# End to end
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def auth_taps(
    tap_venv: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, InstalledTap]:
    """Every feature spec of this module, generated and installed once."""
    specs = {stem: FEATURES / f"{stem}.yaml" for stem in AUTH_SPECS}
    return install_taps(specs, tmp_path_factory.mktemp("auth-taps"), tap_venv)


@pytest.fixture(scope="module")
def lab_server() -> t.Iterator[DemoServer]:
    """The demo API for this module."""
    with DemoServer() as server:
        yield server


def _api_log(server: DemoServer, endpoint: str) -> list[t.Any]:
    return [r for r in server.requests if r.path == f"/lab/v1/{endpoint}"]


@pytest.mark.slow
def test_api_key_prefix_end_to_end(
    auth_taps: dict[str, InstalledTap], lab_server: DemoServer, tmp_path: Path
) -> None:
    """``prefix: "Token "`` sends ``Authorization: Token <key>``; key kept secret."""
    lab_server.clear_requests()
    config = {"api_key": lab.API_KEY, "api_url": lab_server.url + "/lab/v1"}
    run = auth_taps["lab_key_prefix"].run(config=config, workdir=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.records("keyed") == [dict(item) for item in lab.LAB_ITEMS[:3]]
    sent = {r.headers["authorization"] for r in _api_log(lab_server, "keyed")}
    assert sent == {f"Token {lab.API_KEY}"}
    wrong = auth_taps["lab_key_prefix"].run(
        config={**config, "api_key": "wrong-key"}, workdir=tmp_path
    )
    assert wrong.returncode == 1 and "401" in wrong.stderr
    assert lab.API_KEY not in run.stderr and "wrong-key" not in wrong.stderr


def test_api_key_prefix_preview(capsys: pytest.CaptureFixture[str]) -> None:
    """``preview`` sends the prefix too and prints records, not the key."""
    with DemoServer() as server:
        config = {"api_key": lab.API_KEY, "api_url": server.url + "/lab/v1"}
        code = _preview(FEATURES / "lab_key_prefix.yaml", "keyed", config)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert '"name": "item 1"' in out.out
    assert lab.API_KEY not in out.out + out.err


def _preview(spec: Path, stream: str, config: dict[str, t.Any]) -> int:
    """Run ``tap-builder preview`` in process with ``config`` (a private file)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.json"
        path.write_text(json.dumps(config))
        args = ["preview", str(spec), "--config", str(path), "--stream", stream]
        return main([*args, "--json"])


def _jwt_config(server: DemoServer, **changes: str) -> dict[str, t.Any]:
    return {
        "client_id": lab.CLIENT_ID,
        "private_key": lab.jwt_private_key(),
        "api_url": server.url + "/lab/v1",
        **changes,
    }


@pytest.mark.slow
def test_jwt_exchanged_for_an_access_token(
    auth_taps: dict[str, InstalledTap], lab_server: DemoServer, tmp_path: Path
) -> None:
    """ES256 assertion (claims, kid, 600 s life) -> one token request -> records."""
    import jwt

    lab_server.clear_requests()
    run = auth_taps["lab_jwt"].run(config=_jwt_config(lab_server), workdir=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.records("secure") == [dict(item) for item in lab.LAB_ITEMS[:3]]
    (exchange,) = _api_log(lab_server, "jwt/token")
    assert exchange.status == 200
    form = exchange.body
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert form["audience"] == "lab"
    assertion = form["assertion"]
    assert jwt.get_unverified_header(assertion) == {
        "alg": "ES256",
        "kid": "lab-key-1",
        "typ": "JWT",
    }
    claims = jwt.decode(
        assertion, lab.jwt_public_key(), algorithms=["ES256"], audience="lab"
    )
    assert {k: claims[k] for k in ("iss", "sub", "scope")} == {
        "iss": lab.CLIENT_ID,
        "sub": lab.CLIENT_ID,
        "scope": "read",
    }
    assert claims["exp"] - claims["iat"] == 600
    secure = _api_log(lab_server, "secure")
    assert secure and all(
        r.headers["authorization"].startswith("Bearer at-") for r in secure
    )
    output = run.stdout + run.stderr
    assert "PRIVATE KEY" not in output and assertion not in output


@pytest.mark.slow
def test_jwt_signed_with_another_key_is_refused(
    auth_taps: dict[str, InstalledTap], lab_server: DemoServer, tmp_path: Path
) -> None:
    """The lab verifies the signature: another key's JWT is one clear error."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    config = _jwt_config(lab_server, private_key=other)
    run = auth_taps["lab_jwt"].run(config=config, workdir=tmp_path)
    assert run.returncode == 1
    last = [line for line in run.stderr.splitlines() if "ERROR" in line][-1]
    assert "the JWT token exchange" in last and "HTTP 401" in last
    assert "check the settings" in last.lower()
    assert "PRIVATE KEY" not in run.stderr


@pytest.mark.slow
def test_jwt_sent_directly(
    auth_taps: dict[str, InstalledTap], lab_server: DemoServer, tmp_path: Path
) -> None:
    """HS256 with a secret from the config, sent as the bearer token."""
    import jwt

    lab_server.clear_requests()
    config = {
        "client_id": lab.CLIENT_ID,
        "username": lab.USERNAME,
        "jwt_secret": lab.JWT_SECRET,
        "api_url": lab_server.url + "/lab/v1",
    }
    run = auth_taps["lab_jwt_direct"].run(config=config, workdir=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.records("direct") == [dict(item) for item in lab.LAB_ITEMS[:3]]
    (sent,) = {r.headers["authorization"] for r in _api_log(lab_server, "jwt-direct")}
    claims = jwt.decode(
        sent.removeprefix("Bearer "),
        lab.JWT_SECRET,
        algorithms=["HS256"],
        audience="lab",
    )
    assert claims["sub"] == lab.USERNAME and claims["exp"] - claims["iat"] == 3600
    assert lab.JWT_SECRET not in run.stdout + run.stderr
    wrong = auth_taps["lab_jwt_direct"].run(
        config={**config, "jwt_secret": "another-secret-of-32-bytes-or-more!"},
        workdir=tmp_path,
    )
    assert wrong.returncode == 1 and "401" in wrong.stderr
    assert "another-secret" not in wrong.stderr


def test_jwt_preview(capsys: pytest.CaptureFixture[str]) -> None:
    """``preview`` signs and exchanges the JWT like the tap; no key in its output."""
    with DemoServer() as server:
        code = _preview(FEATURES / "lab_jwt.yaml", "secure", _jwt_config(server))
    out = capsys.readouterr()
    assert code == 0, out.err
    assert '"name": "item 1"' in out.out
    assert "PRIVATE KEY" not in out.out + out.err


def _aws_config(server: DemoServer, **changes: str) -> dict[str, t.Any]:
    return {
        "aws_access_key_id": lab.AWS_ACCESS_KEY_ID,
        "aws_secret_access_key": lab.AWS_SECRET_ACCESS_KEY,
        "aws_session_token": lab.AWS_SESSION_TOKEN,
        "api_url": server.url + "/lab/v1",
        **changes,
    }


@pytest.mark.slow
def test_aws_sigv4_end_to_end(
    auth_taps: dict[str, InstalledTap], lab_server: DemoServer, tmp_path: Path
) -> None:
    """Every request signed (verified by the lab); a wrong secret is one error."""
    lab_server.clear_requests()
    tap = auth_taps["lab_aws"]
    run = tap.run(config=_aws_config(lab_server), workdir=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.records("signed") == [dict(item) for item in lab.LAB_ITEMS[:4]]
    (sent,) = _api_log(lab_server, "signed")
    assert sent.status == 200
    assert sent.query == {"limit": ["4"], "filter": ["status:active now+later"]}
    assert sent.headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={lab.AWS_ACCESS_KEY_ID}/"
    )
    wrong = tap.run(
        config=_aws_config(lab_server, aws_secret_access_key="not/the+secret"),
        workdir=tmp_path,
    )
    assert wrong.returncode == 1
    last = [line for line in wrong.stderr.splitlines() if "ERROR" in line][-1]
    assert "HTTP 403" in last and "check the settings aws_access_key_id" in last
    for output in (run.stdout + run.stderr, wrong.stderr):
        assert lab.AWS_SECRET_ACCESS_KEY not in output
        assert "not/the+secret" not in output
        assert lab.AWS_SESSION_TOKEN not in output


def test_aws_sigv4_preview(capsys: pytest.CaptureFixture[str]) -> None:
    """``preview`` signs like the tap; no credential in its output."""
    with DemoServer() as server:
        code = _preview(FEATURES / "lab_aws.yaml", "signed", _aws_config(server))
    out = capsys.readouterr()
    assert code == 0, out.err
    assert '"name": "item 4"' in out.out
    for secret in (lab.AWS_SECRET_ACCESS_KEY, lab.AWS_SESSION_TOKEN):
        assert secret not in out.out + out.err


@pytest.mark.slow
def test_authorization_code_flow_end_to_end(
    auth_taps: dict[str, InstalledTap], lab_server: DemoServer, tmp_path: Path
) -> None:
    """``tap-builder auth``: consent URL -> redirect to 127.0.0.1 -> code exchange
    (PKCE) -> refresh token in a 0600 file, never printed; the tap then syncs."""
    import requests

    lab.reset_tokens()
    lab_server.clear_requests()
    token_file = tmp_path / "refresh.json"
    config = {
        "client_id": lab.CLIENT_ID,
        "client_secret": lab.CLIENT_SECRET,
        "api_url": lab_server.url + "/lab/v1",
        "refresh_token_file": str(token_file),
    }
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    spec = _authcode_spec(tmp_path, _free_port())
    command = [sys.executable, "-m", "tap_builder.cli", "auth", str(spec)]
    command += ["--config", str(config_file), "--no-browser", "--timeout", "60"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        consent = ""
        for line in process.stdout:
            if line.startswith("  http"):
                consent = line.strip()
                break
        assert consent.startswith(lab_server.url + "/lab/v1/oauth/authorize?")
        # The browser: open the consent URL, follow the redirect to the callback.
        page = requests.get(consent, timeout=30)
        rest, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert page.status_code == 200 and "you can close this tab" in page.text
    assert json.loads(token_file.read_text()) == {"refresh_token": "rt-0"}
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    (exchange,) = _api_log(lab_server, "oauth/token")
    assert exchange.status == 200
    assert exchange.body["grant_type"] == "authorization_code"
    assert len(exchange.body["code_verifier"]) >= 43
    output = consent + rest + err
    assert "rt-0" not in output and exchange.body["code"] not in output
    assert lab.CLIENT_SECRET not in output
    assert f"Stored the refresh token in {token_file}" in rest

    tap = auth_taps["lab_authcode"]
    run = tap.run(config=config, workdir=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.records("secure") == [dict(item) for item in lab.LAB_ITEMS[:3]]
    assert json.loads(token_file.read_text()) == {"refresh_token": "rt-1"}
    assert "rt-0" not in run.stderr and "rt-1" not in run.stderr

    assert _preview(spec, "secure", config) == 0  # preview refreshes the same way
    assert json.loads(token_file.read_text()) == {"refresh_token": "rt-2"}

    missing = {**config, "refresh_token_file": str(tmp_path / "none.json")}
    first = tap.run(config=missing, workdir=tmp_path)
    assert first.returncode == 1
    last = [line for line in first.stderr.splitlines() if "ERROR" in line][-1]
    assert "no refresh token yet: run `tap-builder auth SPEC --config CONFIG`" in last
