"""A Test or live-infer run, in a child process the studio can cancel.

The studio starts ``python -m tap_builder.studio.worker`` and writes one JSON
job on its stdin (the spec text, its path, the stream, the test config): the
config never touches a file or the command line. The worker runs the same
``preview.run_stream`` the command line runs, writes ``progress N`` lines on
stderr as responses arrive, and one JSON result on stdout. Cancelling is
ending the process.
"""

from __future__ import annotations

import json
import re
import sys
import typing as t
from pathlib import Path

#: A status line of an authentication failure in a preview error.
_AUTH_FAILURE = re.compile(r"\b(401|403)\b")


def _count_responses() -> None:
    """Write ``progress N`` on stderr after each HTTP response (a count only)."""
    import requests

    original = requests.Session.send
    seen = [0]

    def send(self: requests.Session, *args: t.Any, **kwargs: t.Any) -> t.Any:  # noqa: ANN401
        try:
            return original(self, *args, **kwargs)
        finally:
            seen[0] += 1
            print(f"progress {seen[0]}", file=sys.stderr, flush=True)

    requests.Session.send = send  # type: ignore[method-assign]


def auth_hint(message: str, settings: t.Sequence[str]) -> str:
    """``message``, naming the settings to check when the API refused them."""
    if not _AUTH_FAILURE.search(message):
        return message
    names = ", ".join(settings) or "none declared"
    return (
        f"{message} The API refused the credentials: check the authentication "
        f"settings ({names}) in the tenant view on Parameters, and the "
        "Authentication screen."
    )


def run_job(job: dict[str, t.Any]) -> dict[str, t.Any]:
    """Run one job; the result is JSON-ready and safe to show (secrets masked)."""
    from tap_builder.commands.infer import LiveSample, SampleError, infer_schema
    from tap_builder.commands.preview import (
        ConfigError,
        PreviewError,
        credential_settings,
        run_stream,
    )
    from tap_builder.spec import SpecError, parse_spec_text
    from tap_builder.spec.validation import validate_spec

    try:
        connector = validate_spec(parse_spec_text(job["text"], Path(job["path"])))
    except SpecError as exc:
        return {
            "ok": False,
            "error": "the spec is not valid: " + "; ".join(exc.lines()),
        }
    infer = job.get("mode") == "infer"
    try:
        result = run_stream(
            connector,
            job["stream"],
            job.get("config") or {},
            limit=None if infer else int(job.get("limit") or 10),
            pages=3 if infer else None,
            parents=int(job.get("parents") or 3),
        )
    except (ConfigError, PreviewError) as exc:
        return {
            "ok": False,
            "error": auth_hint(str(exc), credential_settings(connector)),
        }
    report = _report(result)
    if infer:
        stream = connector.spec.stream(job["stream"])
        parent = stream.parent_stream if stream is not None else None
        sample = LiveSample.of(
            job["stream"], len(result.raw_records), result.requests, parent
        )
        report["summary"] = sample.summary()
        try:
            report["schema"] = infer_schema(result.raw_records)
        except SampleError as exc:
            return {"ok": False, "error": f"{sample.summary()}: {exc}"}
    return report


def _report(result: t.Any) -> dict[str, t.Any]:  # noqa: ANN401
    from tap_builder.commands import report
    from tap_builder.commands.infer import SampleError, infer_schema
    from tap_builder.commands.preview import safe_data

    dropped = result.dropped_fields
    additions: dict[str, t.Any] = {}
    if dropped and result.raw_records:
        try:
            inferred = infer_schema(result.raw_records)
        except SampleError:  # pragma: no cover - records are objects here
            inferred = {}
        additions = {
            name: inferred.get("properties", {}).get(name, {}) for name in dropped
        }
    return {
        "ok": True,
        "stream": result.stream,
        "requests": [entry.to_dict() for entry in result.requests],
        "stop_reason": result.stop_reason,
        "records": [safe_data(record) for record in result.records],
        "mismatches": [
            {
                "record": m.record,
                "path": m.path,
                "value": safe_data(m.value),
                "message": m.message,
            }
            for m in result.mismatches
        ],
        "dropped_fields": dropped,
        "additions": additions,
        "bookmark": report.bookmark_text(result),
        "replication_key": result.replication_key,
    }


def main() -> int:
    """Read the job from stdin, print the result on stdout."""
    job = json.loads(sys.stdin.read())
    _count_responses()
    try:
        result = run_job(job)
    except Exception as exc:
        from tap_builder.commands.preview import safe_text

        result = {"ok": False, "error": safe_text(f"{type(exc).__name__}: {exc}")}
    sys.stdout.write(json.dumps(result, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
