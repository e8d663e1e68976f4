"""The lab API: endpoints for the options beyond the Connector Builder.

Serves ``sample_specs/features/*.yaml``. Its records, credentials and the
state tests reset (odd-call failures, issued tokens, bumped projects) live in
:mod:`tap_builder.demo.lab`; this module holds its handlers and routes.
"""

from __future__ import annotations

import typing as t
from datetime import datetime
from urllib.parse import urlencode

from tap_builder.demo import lab, sigv4
from tap_builder.demo.apis import lab_formats
from tap_builder.demo.apis.lab_graphql import lab_graphql
from tap_builder.demo.apis.lab_jobs import lab_create_job, lab_job_file, lab_job_status
from tap_builder.demo.configs import API_PREFIXES
from tap_builder.demo.openapi import (
    Doc,
    array,
    date_time,
    document,
    document_route,
    integer,
    json_response,
    obj,
    operation,
    param,
    ref,
    string,
)
from tap_builder.demo.params import int_value, since_iso, time_value
from tap_builder.demo.routing import (
    Api,
    ApiError,
    ApiRequest,
    ApiResponse,
    Payload,
    Record,
    basic_credentials,
    define_api,
    route,
    same,
)


def _lab_size(request: ApiRequest, name: str = "limit") -> int:
    return int_value(request.arg(name), name, 3, (1, 100))


def _lab_cursor(raw: str | None) -> int:
    try:
        return lab.cursor_offset(raw)
    except ValueError as error:
        raise ApiError(400, str(error)) from None


def lab_events(request: ApiRequest) -> Payload:
    """``GET /events?cursor=&limit=``: the next cursor in the body."""
    records, following = lab.page(
        _lab_cursor(request.arg("cursor")), _lab_size(request)
    )
    return {"events": records, "next_cursor": lab.cursor_of(following)}


def lab_notes(request: ApiRequest) -> ApiResponse:
    """``GET /notes``: cursor in ``X-Cursor``, the next one in ``X-Next-Cursor``."""
    records, following = lab.page(_lab_cursor(request.header("x-cursor")), 4)
    headers = (
        (("X-Next-Cursor", cursor),) if (cursor := lab.cursor_of(following)) else ()
    )
    return ApiResponse(200, {"notes": records}, headers)


def lab_search(request: ApiRequest) -> Payload:
    """``POST /search``: the cursor travels in the body at ``paging.cursor``."""
    body = request.body if isinstance(request.body, dict) else {}
    if body.get("query") != {"kind": "any"}:
        raise ApiError(400, "the body must hold query: {kind: any}")
    paging = body.get("paging") or {}
    records, following = lab.page(_lab_cursor(paging.get("cursor")), 4)
    return {"hits": records, "next": lab.cursor_of(following)}


def lab_articles(request: ApiRequest) -> Payload:
    """``GET /articles?page=``: a relative next-page URL in ``links.next``."""
    number = int_value(request.arg("page"), "page", 1, (1, 1000))
    records, following = lab.page((number - 1) * 4, 4)
    link = f"articles?page={number + 1}&per_page=4" if following is not None else None
    return {"items": records, "links": {"next": link}}


def lab_tags(request: ApiRequest) -> ApiResponse:
    """``GET /tags?page=``: RFC 8288 ``Link: <...>; rel="next"`` headers."""
    number = int_value(request.arg("page"), "page", 1, (1, 1000))
    records, following = lab.page((number - 1) * 3, 3)
    host = request.header("host") or "127.0.0.1"
    headers: tuple[tuple[str, str], ...] = ()
    if following is not None:
        url = f"http://{host}/lab/v1/tags?page={number + 1}"
        headers = (("Link", f'<{url}>; rel="next", <{url}>; rel="last"'),)
    return ApiResponse(200, {"tags": records}, headers)


def lab_reports(request: ApiRequest) -> Payload:
    """``GET /reports?page=&size=``: ``has_more``, ``total_pages`` and ``total``."""
    number = int_value(request.arg("page"), "page", 1, (1, 1000))
    size = _lab_size(request, "size")
    records, following = lab.page((number - 1) * size, size)
    pages = -(-len(lab.LAB_ITEMS) // size)
    return {
        "data": records,
        "has_more": following is not None,
        "total_pages": pages,
        "total": len(lab.LAB_ITEMS),
    }


def lab_feed(request: ApiRequest) -> ApiResponse:
    """``GET /feed?cursor=&limit=``: a next page is always offered, even past the end.

    Like many real APIs, it always sends a next cursor (``next_cursor``), a next
    URL (``links.next``) and a ``Link: rel="next"`` header; only ``has_more``,
    ``total`` and ``total_pages`` tell that the next page is empty. A tap without
    a stop condition asks for that empty page; one with a stop condition does not.
    """
    offset = _lab_cursor(request.arg("cursor"))
    size = _lab_size(request)
    records, following = lab.page(offset, size)
    cursor = lab.cursor_of(offset + size)
    host = request.header("host") or "127.0.0.1"
    link = f"http://{host}/lab/v1/feed?cursor={cursor}&limit={size}"
    body = {
        "items": records,
        "has_more": following is not None,
        "total": len(lab.LAB_ITEMS),
        "total_pages": -(-len(lab.LAB_ITEMS) // size),
        "next_cursor": cursor,
        "links": {"next": f"feed?cursor={cursor}&limit={size}"},
    }
    return ApiResponse(200, body, (("Link", f'<{link}>; rel="next"'),))


#: The most records ``/capped`` sends in one page.
CAPPED_PAGE = 4


def lab_capped(request: ApiRequest) -> Payload:
    """``GET /capped?offset=&limit=``: never more than 4 records, whatever the limit.

    Offsets counted by ``limit`` would skip records here; offsets counted from
    the records read (``records_offset`` pagination) do not.
    """
    offset = int_value(request.arg("offset"), "offset", 0, (0, 10_000))
    size = min(_lab_size(request), CAPPED_PAGE)
    records, _ = lab.page(offset, size)
    return {"items": records}


def lab_loop(request: ApiRequest) -> Payload:
    """``GET /loop``: a broken API whose cursor never changes."""
    del request
    return {"data": [dict(lab.LAB_ITEMS[0])], "next_cursor": "cur-same"}


def lab_ledger(request: ApiRequest) -> Payload:
    """``GET /ledger?since_ms=``: entries booked at or after (Unix ms)."""
    since = int_value(request.arg("since_ms"), "since_ms", 0, (0, 10**14))
    return {"entries": [dict(e) for e in lab.LEDGER if lab.booked_ms(e) >= since]}


def lab_ledger_all(request: ApiRequest) -> Payload:
    """``GET /ledger-all``: an API with no filter at all."""
    del request
    return {"entries": [dict(e) for e in lab.LEDGER]}


def lab_ledger_iso(request: ApiRequest) -> Payload:
    """``GET /ledger-iso?since=``: entries booked at or after an ISO-8601 time."""
    since = time_value(request.arg("since"), "since", "%Y-%m-%dT%H:%M:%SZ")
    bound = int(since.timestamp() * 1000) if since else 0
    return {"entries": [dict(e) for e in lab.LEDGER if lab.booked_ms(e) >= bound]}


def lab_teams(request: ApiRequest) -> Payload:
    """``GET /teams``: three teams."""
    del request
    return [dict(team) for team in lab.TEAMS]


def lab_members(request: ApiRequest) -> Payload:
    """``GET /teams/{team_id}/members``: 404 for the deleted team."""
    team = int(request.params["team_id"])
    if team not in lab.MEMBERS:
        raise ApiError(404, f"team {team} was deleted")
    return {"members": [dict(m) for m in lab.MEMBERS[team]]}


def lab_conflict(request: ApiRequest) -> Payload:
    """``GET /conflict``: 409 on every odd call (a retry gets through)."""
    del request
    if lab.next_conflict():
        raise ApiError(409, "busy")
    return {"data": [dict(lab.LAB_ITEMS[0])]}


def lab_throttled(request: ApiRequest) -> Payload:
    """``GET /throttled``: 429 with ``X-RateLimit-Reset: 1`` on every odd call."""
    del request
    if lab.next_throttle():
        raise ApiError(429, "slow down", (("X-RateLimit-Reset", "1"),))
    return {"data": [dict(lab.LAB_ITEMS[1])]}


def _since_filter(request: ApiRequest, records: list[Record]) -> list[Record]:
    since = time_value(
        request.arg("updated_since"), "updated_since", "%Y-%m-%dT%H:%M:%SZ"
    )
    return since_iso(records, "updated_at", since)


def lab_projects(request: ApiRequest) -> Payload:
    """``GET /projects?updated_since=``: projects updated at or after."""
    return {"projects": _since_filter(request, lab.projects())}


def lab_tasks(request: ApiRequest) -> Payload:
    """``GET /projects/{project_id}/tasks?updated_since=``: a project's tasks."""
    found = lab.tasks(int(request.params["project_id"]))
    if found is None:
        raise ApiError(404, "no such project")
    return {"tasks": _since_filter(request, found)}


def lab_range(request: ApiRequest) -> Payload:
    """``GET /range?from=&to=``: items updated in ``[from, to)`` (ISO-8601)."""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    low = time_value(request.arg("from"), "from", fmt)
    high = time_value(request.arg("to"), "to", fmt)
    if low is None or high is None:
        raise ApiError(400, "from and to are required")
    items = [
        dict(item)
        for item in lab.LAB_ITEMS
        if low <= datetime.fromisoformat(str(item["updated_at"])) < high
    ]
    return {"data": items}


def lab_busy(request: ApiRequest) -> Payload:
    """``GET /busy``: 400 with ``{"error": {"code": "busy"}}`` on every odd call."""
    del request
    if lab.next_busy():
        raise ApiError(400, "busy")
    return {"data": [dict(lab.LAB_ITEMS[2])]}


def lab_comments(request: ApiRequest) -> Payload:
    """``GET /projects/{project_id}/tasks/{task_id}/comments``: two per task."""
    project, task = int(request.params["project_id"]), int(request.params["task_id"])
    if task // 100 != project:
        raise ApiError(404, f"task {task} is not in project {project}")
    return {"comments": [{"id": task * 10 + n, "text": f"c{n}"} for n in (1, 2)]}


def lab_lines(request: ApiRequest) -> ApiResponse:
    """``GET /lines``: JSON Lines, one item per line."""
    del request
    items = [dict(item) for item in lab.LAB_ITEMS[:4]]
    return ApiResponse(200, items, (("Content-Type", "application/x-ndjson"),))


def lab_forbidden(request: ApiRequest) -> Payload:
    """``GET /forbidden``: always 403."""
    del request
    raise ApiError(403, "missing scope reports:read")


def lab_oauth_token(request: ApiRequest) -> Payload:
    """``POST /oauth/token``: client_credentials and (rotating) refresh_token grants."""
    form = request.body if isinstance(request.body, dict) else {}
    client = basic_credentials(request) or (
        form.get("client_id"),
        form.get("client_secret"),
    )
    if client != (lab.CLIENT_ID, lab.CLIENT_SECRET):
        raise ApiError(401, "invalid_client")
    grant = form.get("grant_type")
    if grant == "client_credentials":
        if form.get("scope") != "read" or form.get("audience") != "lab":
            raise ApiError(400, "scope read and audience lab are required")
        return {"access_token": lab.issue_access_token(), "expires_in": 3600}
    if grant == "refresh_token":
        rotated = lab.rotate_refresh_token(str(form.get("refresh_token")))
        if rotated is None:
            raise ApiError(
                400, "invalid_grant: the refresh token was used or is unknown"
            )
        token = lab.issue_access_token()
        return {"access_token": token, "expires_in": 3600, "refresh_token": rotated}
    if grant == "authorization_code":
        refresh = lab.redeem_code(
            str(form.get("code")),
            str(form.get("redirect_uri")),
            str(form.get("code_verifier")),
        )
        if refresh is None:
            raise ApiError(400, "invalid_grant: unknown or used code, or PKCE failed")
        token = lab.issue_access_token()
        return {"access_token": token, "expires_in": 3600, "refresh_token": refresh}
    raise ApiError(400, f"unsupported grant_type {grant!r}")


def lab_login(request: ApiRequest) -> Payload:
    """``POST /login``: a session token for the right username and password."""
    body = request.body if isinstance(request.body, dict) else {}
    if (body.get("username"), body.get("password")) != (lab.USERNAME, lab.PASSWORD):
        raise ApiError(401, "wrong username or password")
    return {"session": {"token": lab.issue_access_token()}}


def lab_secure(request: ApiRequest) -> Payload:
    """``GET /secure``: needs a token issued by ``/oauth/token`` or ``/login``."""
    auth = request.header("authorization") or ""
    scheme, _, token = auth.partition(" ")
    if scheme not in {"Bearer", "Session"} or not lab.is_issued(token):
        raise ApiError(401, "send a token from /oauth/token or /login")
    return {"data": [dict(item) for item in lab.LAB_ITEMS[:3]]}


def lab_keyed(request: ApiRequest) -> Payload:
    """``GET /keyed``: needs ``Authorization: Token <key>`` (a key with a prefix)."""
    if not same(request.header("authorization"), f"Token {lab.API_KEY}"):
        raise ApiError(401, "send Authorization: Token <key>")
    return {"data": [dict(item) for item in lab.LAB_ITEMS[:3]]}


def _verified_jwt(token: str, key: str, algorithm: str) -> dict[str, t.Any]:
    """The claims of a JWT the lab accepts; 401 for any other token."""
    import jwt

    try:
        claims: dict[str, t.Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=lab.JWT_AUDIENCE,
            issuer=lab.CLIENT_ID,
            options={"require": ["iat", "exp", "iss", "aud"]},
        )
    except jwt.PyJWTError as error:
        raise ApiError(401, f"invalid JWT: {error}") from None
    if claims["exp"] - claims["iat"] > lab.JWT_MAX_LIFETIME:
        raise ApiError(401, f"a JWT lives {lab.JWT_MAX_LIFETIME} s at most")
    return claims


def lab_jwt_direct(request: ApiRequest) -> Payload:
    """``GET /jwt-direct``: a bearer JWT signed HS256 with the lab's secret."""
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    if scheme != "Bearer":
        raise ApiError(401, "send Authorization: Bearer <JWT>")
    claims = _verified_jwt(token, lab.JWT_SECRET, "HS256")
    if claims.get("sub") != lab.USERNAME:
        raise ApiError(403, "the JWT's sub is not a lab user")
    return {"data": [dict(item) for item in lab.LAB_ITEMS[:3]]}


def lab_jwt_token(request: ApiRequest) -> Payload:
    """``POST /jwt/token``: an ES256 assertion (RFC 7523) for an access token."""
    form = request.body if isinstance(request.body, dict) else {}
    if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
        raise ApiError(400, "unsupported_grant_type")
    claims = _verified_jwt(str(form.get("assertion")), lab.jwt_public_key(), "ES256")
    if claims.get("scope") != "read" or form.get("audience") != "lab":
        raise ApiError(400, "the scope claim read and audience lab are required")
    return {"access_token": lab.issue_access_token(), "expires_in": 3600}


def lab_signed(request: ApiRequest) -> Payload:
    """``GET /signed``: AWS SigV4 with the lab's credentials (checked independently)."""
    signed = sigv4.SignedRequest(
        request.method,
        API_PREFIXES["lab"] + request.path,
        request.query,
        request.headers,
        b"" if request.body is None else b"?",
    )
    try:
        sigv4.verify(
            signed,
            access_key_id=lab.AWS_ACCESS_KEY_ID,
            secret_access_key=lab.AWS_SECRET_ACCESS_KEY,
            session_token=lab.AWS_SESSION_TOKEN,
            region=lab.AWS_REGION,
            service=lab.AWS_SERVICE,
        )
    except sigv4.SignatureError as error:
        raise ApiError(403, str(error)) from None
    limit = _lab_size(request)
    return {"data": [dict(item) for item in lab.LAB_ITEMS[:limit]]}


def lab_authorize(request: ApiRequest) -> ApiResponse:
    """``GET /oauth/authorize``: the consent page, which a user always accepts here.

    Checks the client, a loopback redirect URI, the scope and a PKCE (S256)
    challenge, then redirects to the redirect URI with a one-time code and the
    state it was sent.
    """
    redirect = request.arg("redirect_uri") or ""
    checks = {
        "response_type": request.arg("response_type") == "code",
        "client_id": request.arg("client_id") == lab.CLIENT_ID,
        "redirect_uri": redirect.startswith("http://127.0.0.1:"),
        "scope": request.arg("scope") == "read",
        "code_challenge": request.arg("code_challenge_method") == "S256"
        and bool(request.arg("code_challenge")),
        "state": bool(request.arg("state")),
        "access_type": request.arg("access_type") == "offline",
    }
    if wrong := [name for name, good in checks.items() if not good]:
        raise ApiError(400, f"invalid authorization request: {', '.join(wrong)}")
    code = lab.issue_code(redirect, str(request.arg("code_challenge")))
    query = urlencode({"code": code, "state": request.arg("state")})
    return ApiResponse(302, {}, (("Location", f"{redirect}?{query}"),))


def lab_contacts(request: ApiRequest) -> Payload:
    """``GET /contacts?updated_after=``: the replication key is nested in the record."""
    since = time_value(
        request.arg("updated_after"), "updated_after", "%Y-%m-%dT%H:%M:%SZ"
    )
    found = [
        dict(c)
        for c in lab.CONTACTS
        if since is None
        or datetime.fromisoformat(c["properties"]["updated_at"]) >= since
    ]
    return {"results": found}


def lab_revisions(request: ApiRequest) -> Payload:
    """``GET /revisions?after_version=&min_version=&offset=&limit=``, by version.

    ``after_version`` keeps versions above it, ``min_version`` versions at or
    above it. Offsets beyond 3 are refused: deep pages must filter instead.
    """
    bound = 10**12
    after = int_value(request.arg("after_version"), "after_version", 0, (0, bound))
    least = int_value(request.arg("min_version"), "min_version", 0, (0, bound))
    offset = int_value(request.arg("offset"), "offset", 0, (0, 10_000))
    if offset > lab.REVISIONS_MAX_OFFSET:
        raise ApiError(
            400,
            f"offset {offset} is beyond {lab.REVISIONS_MAX_OFFSET}: filter by version",
        )
    found = [
        dict(r) for r in lab.REVISIONS if r["version"] > after and r["version"] >= least
    ]
    size = _lab_size(request)
    return {"revisions": found[offset : offset + size]}


def lab_export(request: ApiRequest) -> Payload:
    """``GET /export``: every item at once (a bulk endpoint without a filter)."""
    del request
    return {"export": {"rows": [dict(item) for item in lab.LAB_ITEMS]}}


def lab_changes(request: ApiRequest) -> Payload:
    """``GET /changes?since=``: items updated at or after ``since`` (required)."""
    if request.arg("since") is None:
        raise ApiError(400, "since is required: use /export for everything")
    return {"changes": _since_filter_by(request, "since", list(lab.LAB_ITEMS))}


def _since_filter_by(
    request: ApiRequest, name: str, records: list[Record]
) -> list[Record]:
    since = time_value(request.arg(name), name, "%Y-%m-%dT%H:%M:%SZ")
    return [dict(r) for r in since_iso(records, "updated_at", since)]


def lab_report(request: ApiRequest) -> Payload:
    """``GET /report/{kind}?region=&since=``: a report's rows, for one region."""
    rows = lab.REPORT_ROWS.get(request.params["kind"])
    if rows is None:
        raise ApiError(404, f"no report {request.params['kind']!r}")
    region = request.arg("region")
    if not region:
        raise ApiError(400, "region is required")
    found = [{**row, "region": region} for row in rows]
    return {"rows": _since_filter_by_key(request, "since", found, "day")}


def _since_filter_by_key(
    request: ApiRequest, name: str, records: list[Record], key: str
) -> list[Record]:
    since = time_value(request.arg(name), name, "%Y-%m-%dT%H:%M:%SZ")
    return [dict(r) for r in since_iso(records, key, since)]


def lab_objects(request: ApiRequest) -> Payload:
    """``GET /objects``: the custom objects (a discovery endpoint)."""
    del request
    return {"objects": [dict(o) for o in lab.CUSTOM_OBJECTS]}


def lab_object_records(request: ApiRequest) -> Payload:
    """``GET /objects/{api_name}/records``: a custom object's records."""
    found = lab.CUSTOM_RECORDS.get(request.params["api_name"])
    if found is None:
        raise ApiError(404, f"no custom object {request.params['api_name']!r}")
    return {"records": [dict(r) for r in found]}


_LAB_OPEN = (
    "/oauth/authorize",
    "/oauth/token",
    "/login",
    "/secure",
    "/keyed",
    "/jwt-direct",
    "/jwt/token",
    "/signed",
    *lab_formats.OPEN_PATHS,
)


def _lab_authenticate(request: ApiRequest) -> None:
    if request.path in _LAB_OPEN:
        return
    if not same(request.header("authorization"), lab.TOKEN):
        raise ApiError(401, "send Authorization: Bearer <token>")
    workspace = request.header("x-workspace")
    if workspace is not None and not same(workspace, lab.WORKSPACE):
        raise ApiError(401, "unknown X-Workspace")


def lab_workspace(request: ApiRequest) -> Payload:
    """``GET /workspace``: needs both the bearer token and ``X-Workspace``."""
    if request.header("x-workspace") is None:
        raise ApiError(401, "send X-Workspace too")
    return {"items": [dict(item) for item in lab.LAB_ITEMS[:2]]}


# --------------------------------------------------------------------------- #
# Its OpenAPI document
# --------------------------------------------------------------------------- #


def lab_openapi() -> Doc:
    """The lab API's OpenAPI 3.0 document, deliberately wrong about ``/tags``.

    It says ``/tags`` returns its records under ``data`` in one response; the
    endpoint really sends them under ``tags``, with a ``Link: rel="next"`` header.
    ``tap-builder import openapi --verify`` corrects both.
    """
    item = obj(
        {
            "id": integer(),
            "name": string(),
            "kind": string(),
            "status": string(),
            "amount": {"type": "number"},
            "updated_at": date_time(),
            "internal_note": string(nullable=True),
        }
    )
    events = obj({"events": array(ref("Item")), "next_cursor": string(nullable=True)})
    articles = obj(
        {
            "items": array(ref("Item")),
            "links": obj(
                {"next": string(nullable=True, description="URL of the next page.")}
            ),
        }
    )
    reports = obj(
        {
            "data": array(ref("Item")),
            "has_more": {"type": "boolean"},
            "total_pages": integer(),
            "total": integer(),
        }
    )
    paths = {
        "/events": {
            "get": operation(
                "listEvents",
                "Events",
                json_response(events),
                [
                    param("cursor", "query", string()),
                    param("limit", "query", integer(maximum=100, default=3)),
                ],
            )
        },
        "/articles": {
            "get": operation(
                "listArticles",
                "Articles",
                json_response(articles),
                [param("page", "query", integer(minimum=1))],
            )
        },
        "/reports": {
            "get": operation(
                "listReports",
                "Reports",
                json_response(reports),
                [
                    param("page", "query", integer(minimum=1)),
                    param("size", "query", integer(maximum=100, default=3)),
                ],
            )
        },
        "/tags": {
            "get": operation(
                "listTags", "Tags", json_response(obj({"data": array(ref("Item"))}))
            )
        },
    }
    return document(
        "Lab API",
        "https://lab.example.com/v1",
        paths,
        schemas={"Item": item},
        security={"bearerAuth": {"type": "http", "scheme": "bearer"}},
    )


#: The lab API: a bearer token (and, when sent, ``X-Workspace``) except on the
#: token, login and session-protected endpoints.
API: Api = define_api(
    "lab",
    API_PREFIXES["lab"],
    _lab_authenticate,
    route("GET", "/events", lab_events),
    route("GET", "/notes", lab_notes),
    route("POST", "/search", lab_search),
    route("GET", "/articles", lab_articles),
    route("GET", "/tags", lab_tags),
    route("GET", "/reports", lab_reports),
    route("GET", "/feed", lab_feed),
    route("GET", "/capped", lab_capped),
    route("GET", "/loop", lab_loop),
    route("GET", "/workspace", lab_workspace),
    route("GET", "/ledger", lab_ledger),
    route("GET", "/ledger-all", lab_ledger_all),
    route("GET", "/ledger-iso", lab_ledger_iso),
    route("GET", "/teams", lab_teams),
    route("GET", "/teams/{team_id}/members", lab_members),
    route("GET", "/conflict", lab_conflict),
    route("GET", "/forbidden", lab_forbidden),
    route("GET", "/throttled", lab_throttled),
    route("GET", "/projects", lab_projects),
    route("GET", "/range", lab_range),
    route("GET", "/lines", lab_lines),
    route("GET", "/busy", lab_busy),
    route("GET", "/projects/{project_id}/tasks/{task_id}/comments", lab_comments),
    route("GET", "/projects/{project_id}/tasks", lab_tasks),
    route("GET", "/contacts", lab_contacts),
    route("GET", "/report/{kind}", lab_report),
    route("GET", "/objects", lab_objects),
    route("GET", "/objects/{api_name}/records", lab_object_records),
    route("GET", "/revisions", lab_revisions),
    route("GET", "/export", lab_export),
    route("GET", "/changes", lab_changes),
    route("POST", "/oauth/token", lab_oauth_token),
    route("POST", "/login", lab_login),
    route("GET", "/secure", lab_secure),
    route("GET", "/keyed", lab_keyed),
    route("GET", "/jwt-direct", lab_jwt_direct),
    route("POST", "/jwt/token", lab_jwt_token),
    route("GET", "/signed", lab_signed),
    route("GET", "/oauth/authorize", lab_authorize),
    document_route(lab_openapi),
    route("POST", "/graphql", lab_graphql),
    route("POST", "/report-jobs", lab_create_job),
    route("GET", "/report-jobs/{job_id}", lab_job_status),
    route("GET", "/report-jobs/{job_id}/files/{number}", lab_job_file),
    route("GET", "/items.csv", lab_formats.lab_items_csv),
    route("GET", "/items.xml", lab_formats.lab_items_xml),
    route("GET", "/evil.xml", lab_formats.lab_evil_xml),
    route("GET", "/items.csv.gz", lab_formats.lab_items_gz),
    route("GET", "/bomb.csv.gz", lab_formats.lab_bomb_gz),
    route("GET", "/exports", lab_formats.lab_exports),
    route("GET", "/exports-signed", lab_formats.lab_exports_signed),
    route("GET", "/exports-bomb", lab_formats.lab_exports_bomb),
    route("GET", "/files/{name}", lab_formats.lab_file),
    route("GET", "/signed/export.zip", lab_formats.lab_signed),
)
