"""``tap-builder import openapi``: import, verify, write, validate, report."""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import typing as t
from pathlib import Path

from tap_builder.openapi.importer import import_openapi
from tap_builder.openapi.source import DocumentError
from tap_builder.openapi.writer import render_spec, summary_table
from tap_builder.spec.loader import load_spec
from tap_builder.spec.validation import validate_spec

if t.TYPE_CHECKING:
    import argparse

    from tap_builder.openapi.model import ImportPlan


def add_parser(commands: t.Any) -> None:  # noqa: ANN401 (argparse's private subparsers type)
    """Register ``import openapi`` on the CLI's sub-commands."""
    importer = commands.add_parser(
        "import", help="write a spec from an API description"
    )
    kinds = importer.add_subparsers(dest="kind", required=True, metavar="KIND")
    openapi = kinds.add_parser(
        "openapi", help="from an OpenAPI 3.x or Swagger 2.0 document"
    )
    openapi.add_argument(
        "source", help="the document: a file or an http(s) URL (JSON or YAML)"
    )
    openapi.add_argument(
        "-o", "--output", help="spec file to write (default ./<tap_id>.yaml)"
    )
    openapi.add_argument(
        "--select",
        action="append",
        metavar="PATTERN",
        help="only streams whose id, path or operation id matches (glob; repeatable); "
        "their parents come along",
    )
    openapi.add_argument("--config", help="tap config (JSON file) for --verify")
    openapi.add_argument(
        "--verify",
        action="store_true",
        help="run each stream against the live API (one or two pages) and "
        "correct the guesses",
    )
    openapi.add_argument(
        "--remote-refs",
        action="store_true",
        help="fetch $refs that point to other hosts",
    )
    openapi.add_argument(
        "--tap-id", dest="tap_id", help="tap id (default from info.title)"
    )
    openapi.add_argument("--force", action="store_true", help="overwrite the spec file")


def run(
    args: argparse.Namespace, read_config: t.Callable[[str, str], dict[str, t.Any]]
) -> int:
    """Run the command; returns the exit code (user errors raise DocumentError)."""
    if args.verify and not args.config:
        msg = "--verify needs --config CONFIG (the settings the tap would use)"
        raise DocumentError(msg)
    config = read_config(args.config, "config") if args.config else None
    plan = import_openapi(
        args.source, select=args.select or (), remote_refs=args.remote_refs
    )
    if args.tap_id:
        if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", args.tap_id):
            msg = f"--tap-id {args.tap_id!r} must be lowercase words joined by hyphens"
            raise DocumentError(msg)
        plan.tap_id = args.tap_id
    if not plan.streams:
        for skipped in plan.skipped:
            print(f"not mapped: {skipped.label}: {skipped.reason}", file=sys.stderr)
        msg = f"no operation of {args.source} lists records; nothing written"
        raise DocumentError(msg)
    target = Path(args.output) if args.output else Path(f"{plan.tap_id}.yaml")
    if target.exists() and not args.force:
        msg = f"{target} exists; use --force to overwrite it"
        raise DocumentError(msg)
    for warning in plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.verify and config is not None:
        from tap_builder.openapi.verify import verify_plan

        verify_plan(plan, config)
    written = _write(plan, target)
    _report(plan, target, written)
    return 0


def _report(plan: ImportPlan, target: Path, written: int) -> None:
    print(summary_table(plan))
    for stream in plan.streams:
        for correction in stream.corrections:
            print(f"corrected {stream.id}: {correction}")
    reads = [
        s
        for s in plan.skipped
        if s.label.startswith("GET ") and not s.reason.startswith("not selected")
    ]
    if plan.skipped:
        print(
            f"not mapped: {len(plan.skipped)} operations ({len(reads)} GET), "
            f"listed at the end of {target}"
        )
        for skipped in reads:
            print(f"  {skipped.label}: {skipped.reason}")
    extra = f" and {written - 1} schema files" if written > 1 else ""
    print(
        f"wrote {target}{extra} ({_count(len(plan.streams), 'stream')}); "
        f"next: tap-builder generate {target}"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _write(plan: ImportPlan, target: Path) -> int:
    """Write the spec and its schema files, validated first in a scratch folder."""
    files = render_spec(plan, target.name)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".tap-builder-import-", dir=folder) as tmp:
        scratch = Path(tmp)
        for name, text in files.items():
            path = scratch / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        validate_spec(
            load_spec(scratch / target.name)
        )  # raises SpecError: nothing moved
        for name in files:
            destination = folder / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(scratch / name, destination)
    return len(files)
