"""Authentication from ``securitySchemes`` (3.x) or ``securityDefinitions`` (2.0).

The scheme the streams' operations accept most often wins; among equals, static
credentials come first (API key, Basic, bearer), then OAuth2. Supported:
``apiKey`` in a header, the query or a cookie; ``http`` basic and bearer;
``oauth2`` client credentials, authorization code (as the refresh-token grant:
a refresh token obtained once, renewed by the tap), implicit and password flows
(as a bearer access token); ``openIdConnect`` as a bearer token.
"""

from __future__ import annotations

import re
import typing as t
from collections import Counter
from dataclasses import dataclass, field

from tap_builder.openapi.model import ParamPlan, Why, snake

if t.TYPE_CHECKING:
    from tap_builder.openapi.document import Document
    from tap_builder.openapi.model import StreamPlan

JSON = t.Any

_NO_PASSWORD = re.compile(
    r"(no|without( a)?|empty|blank) password"
    r"|password (is )?(empty|blank|not (needed|required))"
    r"|as the (basic[- ]auth )?user ?name",
    re.I,
)
_SUFFIX = re.compile(r"_?(auth|authentication|security|scheme|header|query)$")


@dataclass
class AuthPlan:
    """The authentication block, its settings, and why."""

    block: dict[str, JSON] | None = None
    params: list[ParamPlan] = field(default_factory=list)
    why: Why = field(
        default_factory=lambda: Why("the document declares no security scheme", "sure")
    )


def detect_auth(doc: Document, streams: list[StreamPlan]) -> AuthPlan:
    """Pick the security scheme and build the spec's authentication from it."""
    schemes = doc.security_schemes()
    if not schemes:
        return AuthPlan()
    used: Counter[str] = Counter()
    global_security = doc.data.get("security")
    for stream in streams:
        requirements = (
            stream.op.security if stream.op.security is not None else global_security
        )
        for requirement in requirements or []:
            if isinstance(requirement, dict):
                used.update(str(name) for name in requirement if name in schemes)
    if not used and global_security is None and not any(s.op.security for s in streams):
        used.update(schemes)  # none applied explicitly: consider every scheme
    if not used:
        return AuthPlan(why=Why("the operations require no security scheme", "sure"))
    ranked = sorted(used, key=lambda n: (-used[n], _rank(schemes[n]), n))
    for name in ranked:
        plan = _build(name, schemes[name], doc, streams)
        if plan is not None:
            others = [n for n in ranked if n != name]
            if others:
                also = ", ".join(others)
                plan.why = Why(
                    f"{plan.why.text} (also accepted: {also})", plan.why.sure
                )
            return plan
    names = ", ".join(ranked)
    return AuthPlan(
        why=Why(f"no supported security scheme among {names}: none", "guess")
    )


def _rank(scheme: dict[str, JSON]) -> int:
    kind = str(scheme.get("type", "")).lower()
    if kind == "apikey":
        return 0
    if kind in ("http", "basic"):
        return 1
    return 2


def _secret(name: str, why: Why, description: str = "") -> ParamPlan:
    return ParamPlan(name=name, why=why, secret=True, description=description)


def _build(
    name: str, scheme: dict[str, JSON], doc: Document, streams: list[StreamPlan]
) -> AuthPlan | None:
    kind = str(scheme.get("type", "")).lower()
    text = str(scheme.get("description") or "")
    if kind == "apikey":
        return _api_key(name, scheme, text)
    if kind == "basic" or (
        kind == "http" and str(scheme.get("scheme", "")).lower() == "basic"
    ):
        return _basic(name, text)
    if kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
        return _bearer(name, f"security scheme {name} (http bearer)")
    if kind == "oauth2":
        return _oauth2(name, scheme, doc, streams)
    if kind == "openidconnect":
        return _bearer(
            name, f"security scheme {name} (OpenID Connect): its access token"
        )
    return None


def _param_name(scheme_name: str, fallback: str) -> str:
    name = _SUFFIX.sub("", snake(scheme_name))
    if not re.search(r"key|token|secret", name):
        return fallback
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else fallback


def _api_key(name: str, scheme: dict[str, JSON], text: str) -> AuthPlan:
    where = str(scheme.get("in", "header"))
    wire = str(scheme.get("name") or "X-API-Key")
    param = _param_name(name, "api_key")
    why = Why(f"security scheme {name}: apiKey {wire!r} in the {where}", "sure")
    value = f"{{config.{param}}}"
    if wire.lower() == "authorization" and re.search(r"\bbearer\b", text, re.I):
        value = "Bearer " + value
    if where == "cookie":
        block = {"type": "headers", "headers": {"Cookie": f"{wire}={value}"}}
    else:
        block = {
            "type": "api_key",
            "location": "query" if where == "query" else "header",
            "name": wire,
            "value": value,
        }
    return AuthPlan(block, [_secret(param, why, f"The {wire} API key.")], why)


def _basic(name: str, text: str) -> AuthPlan:
    if _NO_PASSWORD.search(text):
        why = Why(
            f"security scheme {name}: HTTP Basic, the key as user name and no "
            "password (its description says so)",
            "likely",
        )
        block = {"type": "basic", "username": "{config.api_key}"}
        return AuthPlan(
            block,
            [_secret("api_key", why, "The API key (sent as the Basic user name).")],
            why,
        )
    why = Why(f"security scheme {name}: HTTP Basic", "sure")
    block = {
        "type": "basic",
        "username": "{config.username}",
        "password": "{config.password}",
    }
    params = [
        ParamPlan(name="username", why=why, description="The Basic user name."),
        _secret("password", why, "The Basic password."),
    ]
    return AuthPlan(block, params, why)


def _bearer(name: str, text: str) -> AuthPlan:
    why = Why(f"{text}: Authorization: Bearer <access_token>", "sure")
    block = {"type": "bearer", "token": "{config.access_token}"}
    return AuthPlan(block, [_secret("access_token", why, "The access token.")], why)


def _oauth2(
    name: str, scheme: dict[str, JSON], doc: Document, streams: list[StreamPlan]
) -> AuthPlan:
    flows = scheme.get("flows") if isinstance(scheme.get("flows"), dict) else None
    if flows is None:  # Swagger 2.0: one flow per scheme
        flow_name = {
            "application": "clientCredentials",
            "accessCode": "authorizationCode",
        }.get(str(scheme.get("flow")), str(scheme.get("flow")))
        flows = {flow_name: scheme}
    scopes = sorted(_scopes(name, doc, streams))
    credentials = flows.get("clientCredentials")
    if isinstance(credentials, dict) and credentials.get("tokenUrl"):
        why = Why(
            f"security scheme {name}: OAuth2 client credentials, token URL "
            "from the flow",
            "sure",
        )
        block: dict[str, JSON] = {
            "type": "oauth2",
            "grant_type": "client_credentials",
            "token_url": str(credentials["tokenUrl"]),
            "client_id": "{config.client_id}",
            "client_secret": "{config.client_secret}",
        }
        if scopes:
            block["scopes"] = scopes
        params = [ParamPlan(name="client_id", why=why), _secret("client_secret", why)]
        return AuthPlan(block, params, why)
    code = flows.get("authorizationCode")
    if isinstance(code, dict) and (code.get("refreshUrl") or code.get("tokenUrl")):
        token_url = str(code.get("refreshUrl") or code.get("tokenUrl"))
        why = Why(
            f"security scheme {name}: OAuth2 authorization code; the tap "
            "renews a refresh "
            "token obtained once through that flow",
            "likely",
        )
        block = {
            "type": "oauth2",
            "grant_type": "refresh_token",
            "token_url": token_url,
            "client_id": "{config.client_id}",
            "client_secret": "{config.client_secret}",
            "refresh_token": "{config.refresh_token}",
        }
        if scopes:
            block["scopes"] = scopes
        params = [
            ParamPlan(name="client_id", why=why),
            _secret("client_secret", why),
            _secret("refresh_token", why),
        ]
        return AuthPlan(block, params, why)
    flow = ", ".join(flows) or "no flow"
    return _bearer(
        name, f"security scheme {name} (OAuth2 {flow}): an access token used"
    )


def _scopes(name: str, doc: Document, streams: list[StreamPlan]) -> set[str]:
    found: set[str] = set()
    global_security = doc.data.get("security") or []
    for stream in streams:
        for requirement in (
            stream.op.security if stream.op.security is not None else global_security
        ):
            if isinstance(requirement, dict) and isinstance(
                requirement.get(name), list
            ):
                found.update(str(s) for s in requirement[name])
    return found
