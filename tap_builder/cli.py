"""The ``tap-builder`` command line: parse arguments, call the API, pick the exit code.

User errors print one line per problem on stderr and exit 1; usage errors exit 2;
tracebacks only with ``--debug``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import typing as t
from pathlib import Path

from tap_builder import (
    SpecError,
    WriteError,
    __version__,
    generate,
    load_spec,
    validate_spec,
)
from tap_builder.commands.infer import SampleError, infer_schema_from_file
from tap_builder.commands.inprocess import ConfigError
from tap_builder.commands.preview import PreviewError

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence


class UserError(Exception):
    """A problem the user can fix; its message is printed as is."""


def _validate(args: argparse.Namespace) -> int:
    from tap_builder.spec.migrations import SPEC_VERSION, renamed_keys, version_of

    loaded = load_spec(args.spec)
    version = version_of(loaded.data)
    old = version is not None and version < SPEC_VERSION
    note = (
        f"{args.spec}: spec_version {version}, the current format is "
        f"{SPEC_VERSION}; tap-builder migrate {shlex.quote(str(args.spec))} "
        "upgrades it"
    )
    try:
        connector = validate_spec(loaded)
    except SpecError:
        # problems name keys by their current names: say so when the spec
        # uses an old one (otherwise the problems are all there is to say)
        if old and renamed_keys(loaded.data):
            print(note, file=sys.stderr)
        raise
    streams = ", ".join(s.id for s in connector.spec.streams)
    print(f"{args.spec}: valid ({len(connector.spec.streams)} streams: {streams})")
    if old:
        print(note, file=sys.stderr)
    return 0


def _update(args: argparse.Namespace) -> int:
    from tap_builder.commands.update import update_package
    from tap_builder.write.merge import END, START

    out = Path(args.package) if args.package else None
    updated = update_package(Path(args.spec), out, dry_run=args.dry_run)
    if args.dry_run:
        sys.stdout.write(updated.plan.diff())
    for line in updated.lines():
        print(line)
    plan, where = updated.plan, updated.target
    conflicts = plan.conflicts
    if not plan.changes:
        print(f"{where} is up to date with {args.spec}")
    elif args.dry_run:
        print(f"dry run: nothing written to {where}")
    else:
        count = len(plan.changes)
        print(f"updated {where} from {args.spec} ({count} file{'s' * (count != 1)})")
    if conflicts:
        files = ", ".join(str(p) for p in conflicts)
        verb = "would have" if args.dry_run else "has"
        print(
            f"error: {len(conflicts)} file{'s' if len(conflicts) != 1 else ''} "
            f"{verb} conflicts: {files}. In each, keep the lines you want between "
            f"{START} and {END}, delete the marker lines, then run "
            f"tap-builder update again",
            file=sys.stderr,
        )
        return 1
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from tap_builder.commands.migrate import migrate_spec

    migrated = migrate_spec(Path(args.spec), dry_run=args.dry_run)
    migration = migrated.migration
    if not migration.changed:
        print(f"{args.spec}: already spec_version {migration.to_version}")
        return 0
    if args.dry_run:
        sys.stdout.write(migrated.diff())
    verb = "would migrate" if args.dry_run else "migrated"
    print(
        f"{verb} {args.spec} from spec_version {migration.from_version} to "
        f"{migration.to_version}:"
    )
    for line in migration.lines():
        print(f"  {line}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    out = Path(args.output) if args.output else None
    try:
        connector, target, written = generate(args.spec, out, force=args.force)
    except WriteError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return 1
    for notice in getattr(written, "notices", ()):
        print(notice, file=sys.stderr)
    print(f"wrote {len(written)} files to {target}")
    print(
        f"next: pip install {pip_path(target)} && {connector.spec.distribution} --about"
    )
    return 0


def pip_path(target: Path) -> str:
    """``target`` as pip reads it as a folder, not a PyPI name (``./tap-x``)."""
    shown = os.path.relpath(target) if not target.is_absolute() else str(target)
    if not shown.startswith((".", "/")):
        shown = "./" + shown
    return shlex.quote(shown)


def _read_json(path: str, what: str) -> dict[str, t.Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"cannot read the {what} file {path}: {exc.strerror or exc}"
        raise UserError(msg) from None
    except json.JSONDecodeError as exc:
        msg = f"the {what} file {path} is not JSON: {exc.msg} (line {exc.lineno})"
        raise UserError(msg) from None
    if not isinstance(data, dict):
        msg = f"the {what} file {path} must hold a JSON object"
        raise UserError(msg)
    return data


def _infer_schema(args: argparse.Namespace) -> int:
    if args.spec is None:
        if args.sample is None:
            msg = "give a SAMPLE file, or --spec SPEC --stream ID --config CONFIG"
            raise UserError(msg)
        schema = infer_schema_from_file(Path(args.sample), selector=args.selector)
        print(json.dumps(schema, indent=2, ensure_ascii=False))
        return 0
    if args.stream is None or args.config is None:
        msg = "live inference needs --stream ID and --config CONFIG with --spec"
        raise UserError(msg)
    return _infer_live(args)


def _infer_live(args: argparse.Namespace) -> int:
    from tap_builder.commands.infer import LiveSample, infer_schema
    from tap_builder.commands.preview import run_stream
    from tap_builder.commands.spec_edit import replication_key_hint, write_schema
    from tap_builder.spec.files import SpecFileError

    spec_path = Path(args.spec)
    connector = validate_spec(load_spec(spec_path))
    config = _read_json(args.config, "config")
    result = run_stream(
        connector,
        args.stream,
        config,
        limit=None,
        pages=args.pages,
        parents=args.parents,
    )
    schema = infer_schema(result.raw_records)
    stream = connector.spec.stream(args.stream)
    if stream is None:  # run_stream found it: a dynamic stream (for_each)
        msg = (
            f"{args.stream!r} is a dynamic stream (for_each): its schema is "
            "written on the spec's template stream, or inferred with infer_schema"
        )
        raise UserError(msg)
    sample = LiveSample.of(
        args.stream, len(result.raw_records), result.requests, stream.parent_stream
    )
    print(sample.summary(), file=sys.stderr)
    if hint := replication_key_hint(stream, schema):
        print(f"hint: {hint}", file=sys.stderr)
    if args.write:
        index = connector.spec.streams.index(stream)
        try:
            written = write_schema(spec_path, stream, index, schema)
        except SpecFileError as exc:
            msg = f"nothing written for stream {args.stream!r}: {exc}"
            raise UserError(msg) from None
        print(f"wrote the schema of {args.stream!r} to {written}", file=sys.stderr)
    else:
        print(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0


def _auth(args: argparse.Namespace) -> int:
    from tap_builder.commands.auth import AuthFlowError, run_auth

    connector = validate_spec(load_spec(args.spec))
    config = _read_json(args.config, "config")
    try:
        run_auth(
            connector,
            config,
            timeout=args.timeout,
            open_browser=not args.no_browser,
            say=lambda line: print(line, flush=True),
        )
    except AuthFlowError as exc:
        raise UserError(str(exc)) from None
    return 0


def _preview(args: argparse.Namespace) -> int:
    from tap_builder.commands import report
    from tap_builder.commands.preview import run_stream

    connector = validate_spec(load_spec(args.spec))
    config = _read_json(args.config, "config")
    state = _read_json(args.state, "state") if args.state else None
    result = run_stream(
        connector,
        args.stream,
        config,
        limit=args.limit,
        state=state,
        parents=args.parents,
    )
    if args.json:
        print("\n".join(report.request_lines(result)), file=sys.stderr)
        print(f"paging stopped: {result.stop_reason}", file=sys.stderr)
        print("\n".join(report.mismatch_lines(result)), file=sys.stderr)
        print(f"bookmark: {report.bookmark_text(result)}", file=sys.stderr)
        if result.records:
            print(report.json_records(result, args.limit))
    else:
        print(report.text_report(result, args.limit))
    return 0


def _import(args: argparse.Namespace) -> int:
    from tap_builder.openapi import command
    from tap_builder.openapi.source import DocumentError

    try:
        return command.run(args, _read_json)
    except DocumentError as exc:
        raise UserError(str(exc)) from None


def _demo_server(args: argparse.Namespace) -> int:
    from tap_builder.demo import DemoServer, FaultPlan

    faults = FaultPlan(rate=args.fault_rate, seed=args.fault_seed)
    server = DemoServer(port=args.port, faults=faults)
    print(f"demo API listening on {server.url} (Ctrl-C to stop)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from tap_builder.commands.demo import run_demo

    return run_demo(
        spec_stem=args.spec, workdir=Path(args.workdir) if args.workdir else None
    )


def _init(args: argparse.Namespace) -> int:
    from tap_builder.commands.init import (
        Answers,
        StarterError,
        ask,
        parse_auth_headers,
        parse_params,
        render_starter,
    )

    target = Path(args.spec)
    if target.exists() and not args.force:
        msg = f"{target} exists; use --force to overwrite it"
        raise UserError(msg)
    given = {name: getattr(args, name) for name in _INIT_FLAGS if getattr(args, name)}
    try:
        params = parse_params(args.param or ())
        headers = parse_auth_headers(args.auth_header or ())
        answers = Answers(
            spec_file=str(target), params=params, auth_headers=headers, **given
        )
        if not args.no_input and sys.stdin.isatty():
            try:
                answers = ask(answers, input)
            except (EOFError, KeyboardInterrupt):
                msg = "stopped before every question was answered; nothing written"
                raise UserError(msg) from None
        text = render_starter(answers)
    except StarterError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"nothing written to {target}", file=sys.stderr)
        return 1
    target.write_text(text, encoding="utf-8")
    schema = target.with_name(SCHEMA_FILE)
    if not schema.exists():  # for editors: the starter's first line points at it
        from tap_builder.spec.schema import spec_json_schema_text

        schema.write_text(spec_json_schema_text(), encoding="utf-8")
    print(f"wrote {target}; next: tap-builder validate {target}")
    return 0


#: The spec format's JSON Schema next to a starter spec (see its first line).
SCHEMA_FILE = "spec.schema.json"


_INIT_FLAGS = (
    "name",
    "tap_id",
    "domain",
    "base_url",
    "auth",
    "api_key_location",
    "api_key_name",
    "grant_type",
    "token_url",
    "login_url",
    "token_selector",
    "stream_name",
    "stream_id",
    "stream_path",
    "records_selector",
    "primary_key",
)


def _add_init(commands: t.Any) -> None:  # noqa: ANN401
    from tap_builder.commands.init import (
        API_KEY_LOCATIONS,
        AUTH_TYPES,
        GRANT_TYPES,
        PARAMETER_TYPES,
    )

    init = commands.add_parser(
        "init", help="write a commented starter spec (asks on a terminal)"
    )
    init.add_argument("spec", nargs="?", default="spec.yaml", help="file to write")
    init.add_argument("--name", help="API name, e.g. Aircall")
    init.add_argument("--tap-id", dest="tap_id", help="tap id (default from the name)")
    init.add_argument("--domain", help="product domain, e.g. aircall.io")
    init.add_argument(
        "--base-url",
        dest="base_url",
        help="API base URL; may hold {config.NAME} (declare NAME with --param)",
    )
    init.add_argument(
        "--param",
        action="append",
        metavar="NAME[:TYPE][:secret]",
        help=f"declare a setting (repeatable); TYPE one of: "
        f"{', '.join(PARAMETER_TYPES)} (default string)",
    )
    init.add_argument(
        "--auth",
        metavar="TYPE",
        help=f"authentication: {', '.join(AUTH_TYPES)} (default none)",
    )
    init.add_argument(
        "--api-key-location",
        dest="api_key_location",
        metavar="WHERE",
        help=f"api_key: {' or '.join(API_KEY_LOCATIONS)} (default header)",
    )
    init.add_argument(
        "--api-key-name",
        dest="api_key_name",
        metavar="NAME",
        help="api_key: header/parameter name (X-API-Key; in the query: api_key)",
    )
    init.add_argument(
        "--auth-header",
        dest="auth_header",
        action="append",
        metavar="NAME=VALUE",
        help="headers: a header every request carries (repeatable)",
    )
    init.add_argument(
        "--grant-type",
        dest="grant_type",
        metavar="GRANT",
        help=f"oauth2: {' or '.join(GRANT_TYPES)} (default client_credentials)",
    )
    init.add_argument(
        "--token-url",
        dest="token_url",
        metavar="URL",
        help="oauth2: token endpoint, a URL or a path (default /oauth/token)",
    )
    init.add_argument(
        "--login-url",
        dest="login_url",
        metavar="URL",
        help="session: login endpoint, a URL or a path (default /login)",
    )
    init.add_argument(
        "--token-selector",
        dest="token_selector",
        metavar="JSONPATH",
        help="session: JSONPath to the token in the login answer (default $.token)",
    )
    init.add_argument("--stream-name", dest="stream_name", help="first stream's name")
    init.add_argument("--stream-id", dest="stream_id", help="first stream's id")
    init.add_argument("--stream-path", dest="stream_path", help="first stream's path")
    init.add_argument("--records-selector", dest="records_selector", help="JSONPath")
    init.add_argument("--primary-key", dest="primary_key", help="primary key field")
    init.add_argument("--no-input", action="store_true", help="never ask; flags only")
    init.add_argument("--force", action="store_true", help="overwrite SPEC")
    init.set_defaults(handler=_init)


def _record(args: argparse.Namespace) -> int:
    from tap_builder.commands.record import record_fixtures, write_fixtures

    connector = validate_spec(load_spec(args.spec))
    config = _read_json(args.config, "config")
    out = Path(args.output) if args.output else Path(connector.spec.distribution)
    if not (out / "pyproject.toml").exists():
        msg = f"{out} is not a generated tap package; run tap-builder generate first"
        raise UserError(msg)
    fixtures = record_fixtures(connector, config, args.max_records)
    target = write_fixtures(out, fixtures)
    count = len(fixtures["exchanges"])
    print(f"recorded {count} responses to {target}; run pytest in {out} (offline)")
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"{text!r} is not a whole number of at least 1"
        raise argparse.ArgumentTypeError(msg)
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="tap-builder",
        description="Turn a declarative REST API spec into a Singer SDK tap.",
    )
    parser.add_argument(
        "--version", action="version", version=f"tap-builder {__version__}"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks on errors"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_init(commands)

    validate = commands.add_parser(
        "validate", help="check a spec; one line per problem"
    )
    validate.add_argument("spec", help="spec file (YAML or JSON)")
    validate.set_defaults(handler=_validate)

    gen = commands.add_parser("generate", help="write the tap package for a spec")
    gen.add_argument("spec", help="spec file (YAML or JSON)")
    gen.add_argument("-o", "--output", help="package root (default ./tap-<tap_id>)")
    gen.add_argument(
        "--force", action="store_true", help="regenerate into a non-empty folder"
    )
    gen.set_defaults(handler=_generate)

    update = commands.add_parser(
        "update", help="merge a changed spec into a generated tap, keeping edits"
    )
    update.add_argument("spec", help="spec file (YAML or JSON)")
    update.add_argument(
        "package", nargs="?", help="the generated package (default ./tap-<tap_id>)"
    )
    update.add_argument(
        "--dry-run", action="store_true", help="print the diff; write nothing"
    )
    update.set_defaults(handler=_update)

    migrate = commands.add_parser(
        "migrate", help="rewrite a spec in the current spec_version"
    )
    migrate.add_argument("spec", help="spec file (YAML or JSON)")
    migrate.add_argument(
        "--dry-run", action="store_true", help="print the diff; write nothing"
    )
    migrate.set_defaults(handler=_migrate)

    infer = commands.add_parser(
        "infer-schema", help="infer a JSON Schema from a sample file or the live API"
    )
    infer.add_argument(
        "sample",
        nargs="?",
        help="JSON file: a record, a list of records or a response; or JSON Lines",
    )
    infer.add_argument("--selector", help="JSONPath to the records in a whole response")
    infer.add_argument("--spec", help="live: infer from the API this spec describes")
    infer.add_argument("--stream", help="live: the stream id")
    infer.add_argument("--config", help="live: the tap config (JSON file)")
    infer.add_argument(
        "--pages",
        type=_positive,
        default=3,
        help="live: pages to read (3; a child stream reads at least one per parent)",
    )
    infer.add_argument(
        "--parents",
        type=_positive,
        default=3,
        help="live: parent records a child stream is read for (3)",
    )
    infer.add_argument(
        "--write",
        action="store_true",
        help="live: store the schema in the spec (or its schema_file)",
    )
    infer.set_defaults(handler=_infer_schema)

    preview = commands.add_parser(
        "preview", help="run one stream in-process and show requests, records, state"
    )
    preview.add_argument("spec", help="spec file (YAML or JSON)")
    preview.add_argument("--stream", required=True, help="the stream id")
    preview.add_argument("--config", required=True, help="the tap config (JSON file)")
    preview.add_argument(
        "--limit", type=_positive, default=10, help="records to fetch (10)"
    )
    preview.add_argument("--state", help="a Singer state file to start from")
    preview.add_argument(
        "--parents",
        type=_positive,
        default=3,
        help="parent records a child runs for (3)",
    )
    preview.add_argument("--json", action="store_true", help="records as JSON Lines")
    preview.set_defaults(handler=_preview)

    auth = commands.add_parser(
        "auth",
        help="OAuth2 authorization code: consent once, store the refresh token",
    )
    auth.add_argument("spec", help="spec file (YAML or JSON)")
    auth.add_argument(
        "--config", required=True, help="the tap config (with refresh_token_file)"
    )
    auth.add_argument(
        "--timeout",
        type=_positive,
        default=300,
        help="seconds to wait for the redirect (300)",
    )
    auth.add_argument(
        "--no-browser", action="store_true", help="only print the consent URL"
    )
    auth.set_defaults(handler=_auth)

    record = commands.add_parser(
        "record", help="record HTTP fixtures for a generated tap's offline tests"
    )
    record.add_argument("spec", help="spec file (YAML or JSON)")
    record.add_argument("--config", required=True, help="the tap config (JSON file)")
    record.add_argument("-o", "--output", help="the generated package (./tap-<tap_id>)")
    record.add_argument(
        "--max-records",
        type=_positive,
        default=150,
        help="records per stream, as the SDK tests sync them (150)",
    )
    record.set_defaults(handler=_record)

    from tap_builder.openapi.command import add_parser as add_import

    add_import(commands)
    commands.choices["import"].set_defaults(handler=_import)

    server = commands.add_parser(
        "demo-server", help="serve the bundled demo API on 127.0.0.1"
    )
    server.add_argument(
        "--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)"
    )
    server.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="fraction of requests that fail transiently (0 to 1; default 0)",
    )
    server.add_argument("--fault-seed", type=int, default=0, help="fault sequence seed")
    server.set_defaults(handler=_demo_server)

    demo = commands.add_parser(
        "demo", help="generate, install and sync a sample tap against the demo API"
    )
    demo.add_argument(
        "--spec", default="aircall", help="sample spec name (default aircall)"
    )
    demo.add_argument("--workdir", help="keep the generated tap and its venv here")
    demo.set_defaults(handler=_demo)

    studio = commands.add_parser(
        "studio", help="the builder in the browser, on 127.0.0.1 (extra: studio)"
    )
    studio.add_argument("spec", nargs="?", help="spec file to open (or to create)")
    studio.add_argument(
        "--port", type=int, default=0, help="port (default 0: a free one)"
    )
    studio.add_argument("--no-browser", action="store_true", help="print the URL only")
    studio.set_defaults(handler=_studio)

    schema = commands.add_parser(
        "schema", help="print the spec format's JSON Schema (for editors)"
    )
    schema.set_defaults(handler=_schema)
    return parser


def _studio(args: argparse.Namespace) -> int:
    try:
        from tap_builder.studio.server import run_studio
    except ImportError as exc:
        msg = (
            f"the studio needs its extra ({exc.name} is missing): "
            "pip install 'tap-builder[studio]'"
        )
        raise UserError(msg) from None
    spec = Path(args.spec) if args.spec else None
    if spec is not None and spec.exists() and not spec.is_file():
        msg = f"{spec} is not a file; give a spec file (it may not exist yet)"
        raise UserError(msg)
    return run_studio(spec, port=args.port, open_browser=not args.no_browser)


def _schema(args: argparse.Namespace) -> int:
    """Print the spec's JSON Schema, generated from the models."""
    from tap_builder.spec.schema import spec_json_schema_text

    del args
    print(spec_json_schema_text())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except SpecError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        count = len(exc.issues)
        print(f"{count} problem{'s' if count != 1 else ''} found.", file=sys.stderr)
        return 1
    except WriteError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return 1
    except (UserError, SampleError, ConfigError, PreviewError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"error: {type(exc).__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
