"""The studio's web layer: one page, static assets, and a small JSON API.

Each endpoint calls the core API the command line calls (``parse_spec_text``,
``validate_spec``, ``render_starter``, ``infer_schema``, ``run_stream``,
``render_package``, ``write_package``) and returns JSON; the page renders it
with ``textContent`` only, so a spec string is always text, never markup.
"""

from __future__ import annotations

import json
import shlex
import typing as t
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tap_builder import WriteError, __version__
from tap_builder.commands.infer import SampleError, infer_schema, records_from_sample
from tap_builder.commands.init import (
    API_KEY_LOCATIONS,
    AUTH_TYPES,
    Answers,
    StarterError,
    parse_params,
    render_starter,
)
from tap_builder.spec.schema import spec_json_schema
from tap_builder.studio.document import EditError
from tap_builder.studio.jobs import Jobs
from tap_builder.studio.security import Guard, cookie_name
from tap_builder.studio.workspace import StudioError, Workspace, schema_diff

if t.TYPE_CHECKING:
    from starlette.requests import Request

HERE = Path(__file__).parent
#: The largest request body read (a spec is at most 5 MB).
MAX_BODY = 6_000_000

_PAGES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


class Studio:
    """One studio: its workspace, its runs, its token and port."""

    def __init__(self, workspace: Workspace, token: str, port: int) -> None:
        self.workspace = workspace
        self.token = token
        self.port = port
        self.jobs = Jobs()

    # ------------------------------------------------------------- pages ---

    async def index(self, request: Request) -> Response:
        """The page; a token in the URL moves into a cookie, then out of the URL."""
        if "token" in request.query_params:
            response: Response = RedirectResponse("/", status_code=303)
            response.set_cookie(
                cookie_name(self.port),
                self.token,
                httponly=True,
                samesite="strict",
            )
            return response
        html = _PAGES.get_template("index.html").render(
            token=self.token, version=__version__
        )
        return HTMLResponse(html)

    # --------------------------------------------------------------- API ---

    def state(self, request: Request) -> Response:
        """The open spec (if any), its analysis, the masked test config."""
        del request
        ws = self.workspace
        spec = ws.spec
        body: dict[str, t.Any] = {
            "root": str(ws.root),
            "files": self._spec_files(),
            "auth_types": list(AUTH_TYPES),
            "api_key_locations": list(API_KEY_LOCATIONS),
            "config": ws.config_view(),
            "spec": None,
        }
        if spec is not None:
            body["spec"] = self._spec_body(ws.analysis().to_json())
        return JSONResponse(body)

    def _spec_files(self) -> list[str]:
        root = self.workspace.root
        found = [
            str(p.relative_to(root))
            for pattern in ("*.yaml", "*.yml", "*.json")
            for p in root.glob(pattern)
            if p.is_file() and p.name != "spec.schema.json"
        ]
        return sorted(found)[:200]

    def _spec_body(self, analysis: dict[str, t.Any]) -> dict[str, t.Any]:
        spec = self.workspace.current()
        return {
            "file": self.workspace.relative(spec.path),
            "format": "json" if spec.json_format else "yaml",
            "text": spec.text,
            "dirty": spec.text != spec.saved_text,
            **analysis,
        }

    def schema(self, request: Request) -> Response:
        """The spec's JSON Schema: the forms are generated from it."""
        del request
        return JSONResponse(spec_json_schema())

    async def open(self, request: Request) -> Response:
        """Open an existing spec file of the workspace."""
        body = await _json(request)
        analysis = self.workspace.open(str(body.get("file", "")))
        return JSONResponse(self._spec_body(analysis.to_json()))

    async def create(self, request: Request) -> Response:
        """Create New: the ``init`` starter from a few answers, written and opened."""
        body = await _json(request)
        file = str(body.get("file") or "spec.yaml")
        try:
            params = parse_params(body.get("params") or ())
            answers = Answers(
                spec_file=file,
                params=params,
                name=str(body.get("name") or ""),
                base_url=str(body.get("base_url") or ""),
                auth=str(body.get("auth") or "none"),
                stream_path=str(body.get("stream_path") or ""),
                domain=str(body.get("domain") or ""),
            )
            text = render_starter(answers)
        except StarterError as exc:
            return JSONResponse({"error": "\n".join(exc.problems)}, status_code=400)
        analysis = self.workspace.create(file, text)
        return JSONResponse(self._spec_body(analysis.to_json()))

    async def text(self, request: Request) -> Response:
        """The YAML/JSON pane changed: take its text, analyse it."""
        body = await _json(request)
        analysis = self.workspace.set_text(str(body.get("text", "")))
        return JSONResponse(self._spec_body(analysis.to_json()))

    async def ops(self, request: Request) -> Response:
        """A form changed: apply its operations to the text, analyse it."""
        body = await _json(request)
        ops = body.get("ops")
        if not isinstance(ops, list):
            return JSONResponse({"error": "ops must be a list"}, status_code=400)
        analysis = self.workspace.edit(ops)
        return JSONResponse(self._spec_body(analysis.to_json()))

    def save(self, request: Request) -> Response:
        """Write the spec file back, atomically."""
        del request
        path = self.workspace.save()
        return JSONResponse({"saved": self.workspace.relative(path)})

    async def config(self, request: Request) -> Response:
        """The tenant view's values: the in-memory test config."""
        body = await _json(request)
        values = body.get("values")
        if not isinstance(values, dict):
            return JSONResponse({"error": "values must be an object"}, status_code=400)
        self.workspace.set_config(values)
        return JSONResponse({"config": self.workspace.config_view()})

    async def infer(self, request: Request) -> Response:
        """Infer a schema from a pasted sample; the diff against the current one."""
        body = await _json(request)
        try:
            sample = json.loads(str(body.get("sample", "")))
        except json.JSONDecodeError as exc:
            msg = f"the sample is not JSON: {exc.msg} (line {exc.lineno})"
            return JSONResponse({"error": msg}, status_code=400)
        selector = body.get("selector") or None
        try:
            schema = infer_schema(records_from_sample(sample, selector))
        except SampleError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(self._with_diff(body, schema))

    def _with_diff(self, body: dict[str, t.Any], schema: dict[str, t.Any]) -> Any_:
        data = self.workspace.analysis().data or {}
        current = None
        index = body.get("index")
        streams = data.get("streams") or []
        if isinstance(index, int) and 0 <= index < len(streams):
            current = streams[index].get("schema")
        return {"schema": schema, "diff": schema_diff(current, schema)}

    async def start_job(self, request: Request) -> Response:
        """Start a Test run or a live infer of one stream in the background."""
        body = await _json(request)
        kind = "infer" if body.get("kind") == "infer" else "test"
        stream = str(body.get("stream", ""))
        spec = self.workspace.current()
        payload = {
            "mode": kind,
            "text": spec.text,
            "path": str(spec.path),
            "stream": stream,
            "config": dict(self.workspace.config),
            "limit": body.get("limit") or 10,
            "parents": body.get("parents") or 3,
        }
        job = self.jobs.start(kind, stream, payload)
        return JSONResponse(job.status())

    def job(self, request: Request) -> Response:
        """A run's progress line, state and (when done) result."""
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            raise HTTPException(404, "no such run")
        status = job.status()
        if job.kind == "infer" and status["result"] and status["result"].get("ok"):
            schema = status["result"]["schema"]
            index = request.query_params.get("index")
            body = {"index": int(index)} if index and index.isdigit() else {}
            status["result"]["diff"] = self._with_diff(body, schema)["diff"]
        return JSONResponse(status)

    def cancel(self, request: Request) -> Response:
        """Cancel a run (its process is ended)."""
        job = self.jobs.cancel(request.path_params["job_id"])
        if job is None:
            raise HTTPException(404, "no such run")
        return JSONResponse(job.status())

    async def publish(self, request: Request) -> Response:
        """Generate the tap package into a folder; the commands that use it."""
        body = await _json(request)
        try:
            connector, target, count = self.workspace.publish(
                str(body.get("folder") or ""), force=bool(body.get("force"))
            )
        except WriteError as exc:
            return JSONResponse({"error": "; ".join(exc.problems)}, status_code=400)
        folder = self.workspace.relative(target)
        return JSONResponse(
            {
                "folder": folder,
                "files": count,
                "commands": publish_commands(connector, folder),
            }
        )

    def package_zip(self, request: Request) -> Response:
        """The tap package as a .zip download."""
        del request
        name, data = self.workspace.package_zip()
        return Response(
            data,
            media_type="application/zip",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )


Any_ = dict[str, t.Any]


def publish_commands(connector: t.Any, folder: str) -> list[dict[str, str]]:  # noqa: ANN401
    """The commands to install, run and add a published package to Meltano."""
    spec = connector.spec
    exe = spec.distribution
    where = shlex.quote("./" + folder)
    config = {p.name: "<value>" for p in spec.parameters if p.default is None}
    config_json = shlex.quote(json.dumps(config))
    setting_lines = "".join(
        f"meltano config set {exe} {p.name} '<value>'\n"
        for p in spec.parameters
        if p.default is None
    )
    return [
        {
            "title": "Install it into its own virtual environment",
            "text": f"python3 -m venv .venv-{exe}\n.venv-{exe}/bin/pip install {where}",
        },
        {
            "title": "Run it",
            "text": (
                f"echo {config_json} > config.json\n"
                f".venv-{exe}/bin/{exe} --about\n"
                f".venv-{exe}/bin/{exe} --config config.json > singer.jsonl"
            ),
        },
        {
            "title": "Add it to Meltano (the package folder is a ready project)",
            "text": (
                f"cd {where}\nmeltano install\n{setting_lines}"
                f"meltano run {exe} target-jsonl"
            ),
        },
    ]


async def _json(request: Request) -> dict[str, t.Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise HTTPException(413, "the request is too large")
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise HTTPException(400, "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "the request body must be a JSON object")
    return body


def _no_icon(request: Request) -> Response:
    del request
    return Response(status_code=204)


async def _user_error(request: Request, exc: Exception) -> Response:
    del request
    return JSONResponse({"error": str(exc)}, status_code=400)


async def _http_error(request: Request, exc: Exception) -> Response:
    del request
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for it
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code)


def create_app(studio: Studio) -> Starlette:
    """The ASGI app of ``studio``, behind the token/Host/Origin guard."""
    s = studio
    routes = [
        Route("/", s.index),
        Route("/favicon.ico", _no_icon),
        Route("/api/state", s.state),
        Route("/api/schema", s.schema),
        Route("/api/open", s.open, methods=["POST"]),
        Route("/api/new", s.create, methods=["POST"]),
        Route("/api/text", s.text, methods=["POST"]),
        Route("/api/ops", s.ops, methods=["POST"]),
        Route("/api/save", s.save, methods=["POST"]),
        Route("/api/config", s.config, methods=["POST"]),
        Route("/api/infer", s.infer, methods=["POST"]),
        Route("/api/jobs", s.start_job, methods=["POST"]),
        Route("/api/jobs/{job_id}", s.job),
        Route("/api/jobs/{job_id}/cancel", s.cancel, methods=["POST"]),
        Route("/api/publish", s.publish, methods=["POST"]),
        Route("/api/package.zip", s.package_zip),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    handlers: dict[t.Any, t.Any] = {
        StudioError: _user_error,
        EditError: _user_error,
        HTTPException: _http_error,
    }
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, token=s.token, port=s.port)],
        exception_handlers=handlers,
    )
