"""The ``tap-builder`` command line: parse arguments, call the API, pick the exit code.

User errors print one line per problem on stderr and exit 1; usage errors exit 2;
tracebacks only with ``--debug``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
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
from tap_builder.infer import SampleError, infer_schema_from_file

if t.TYPE_CHECKING:
    from collections.abc import Callable, Sequence


class UserError(Exception):
    """A problem the user can fix; its message is printed as is."""


def _validate(args: argparse.Namespace) -> int:
    connector = validate_spec(load_spec(args.spec))
    streams = ", ".join(s.id for s in connector.spec.streams)
    print(f"{args.spec}: valid ({len(connector.spec.streams)} streams: {streams})")
    return 0


def _generate(args: argparse.Namespace) -> int:
    out = Path(args.output) if args.output else None
    connector, target, written = generate(args.spec, out, force=args.force)
    print(f"wrote {len(written)} files to {target}")
    print(f"next: pip install {target} && {connector.spec.distribution} --about")
    return 0


def _infer_schema(args: argparse.Namespace) -> int:
    schema = infer_schema_from_file(Path(args.sample), selector=args.selector)
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0


def _demo_server(args: argparse.Namespace) -> int:
    from tap_builder.demo import DemoServer

    server = DemoServer(port=args.port)
    print(f"demo API listening on {server.url} (Ctrl-C to stop)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from tap_builder.quickstart import run_demo

    return run_demo(
        spec_stem=args.spec, workdir=Path(args.workdir) if args.workdir else None
    )


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

    infer = commands.add_parser(
        "infer-schema", help="print a JSON Schema inferred from a sample"
    )
    infer.add_argument(
        "sample",
        help="JSON file: a record, a list of records or a response; or JSON Lines",
    )
    infer.add_argument("--selector", help="JSONPath to the records in a whole response")
    infer.set_defaults(handler=_infer_schema)

    server = commands.add_parser(
        "demo-server", help="serve the bundled demo API on 127.0.0.1"
    )
    server.add_argument(
        "--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)"
    )
    server.set_defaults(handler=_demo_server)

    demo = commands.add_parser(
        "demo", help="generate, install and sync a sample tap against the demo API"
    )
    demo.add_argument(
        "--spec", default="aircall", help="sample spec name (default aircall)"
    )
    demo.add_argument("--workdir", help="keep the generated tap and its venv here")
    demo.set_defaults(handler=_demo)
    return parser


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
    except (WriteError, UserError, SampleError) as exc:
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
