"""End-to-end harness: a shared virtual environment, generated taps installed into
it (non-editable), and Singer runs parsed into messages."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from tap_builder import generate

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_specs"

#: What every generated tap needs at run time, plus what builds and tests it.
#: The generated pyproject pins the same singer-sdk range (checked by a test).
VENV_REQUIREMENTS = (
    "singer-sdk[msgspec,testing]~=0.54.9",
    "typing-extensions>=4.5",
    "hatchling>=1.25,<2",
    "pytest>=8",
    # tests/test_generated_quality.py type-checks generated packages against
    # singer-sdk's own annotations (mypy --strict), so mypy runs in this venv.
    "mypy>=1.11",
    "types-requests",
    # Libraries of the authentication types that need one (jwt, aws_sigv4).
    "pyjwt[crypto]>=2.8",
    "botocore>=1.34",
    "botocore-stubs",
    # Taps with an XML stream depend on defusedxml (installed here, since taps
    # are installed with --no-deps).
    "defusedxml>=0.7.1",
    "types-defusedxml",
)


def shared_venv() -> Path:
    """One venv with singer-sdk for every generated tap, cached between runs."""
    root = Path(os.environ.get("TAP_BUILDER_TEST_VENV", REPO / ".cache" / "e2e-venv"))
    marker = root / "requirements.txt"
    wanted = "\n".join(VENV_REQUIREMENTS) + "\n"
    if marker.exists() and marker.read_text() == wanted:
        return root
    venv.EnvBuilder(with_pip=True, clear=True).create(root)
    pip(root, "install", *VENV_REQUIREMENTS)
    marker.write_text(wanted)
    return root


def pip(root: Path, *args: str) -> None:
    command = [str(root / "bin" / "python"), "-m", "pip", "--quiet"]
    command += ["--disable-pip-version-check", *args]
    subprocess.run(command, check=True, timeout=600)


@dataclass
class Run:
    """One process run of a tap: exit code, output and parsed Singer messages."""

    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [
            m["record"]
            for m in self.messages
            if m["type"] == "RECORD" and m["stream"] == stream
        ]

    def ids(self, stream: str, key: str = "id") -> list[Any]:
        return [record[key] for record in self.records(stream)]

    def schemas(self) -> dict[str, dict[str, Any]]:
        return {m["stream"]: m for m in self.messages if m["type"] == "SCHEMA"}

    @property
    def final_state(self) -> dict[str, Any]:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        assert states, "the tap emitted no STATE message"
        return states[-1]

    def assert_records_fit_schemas(self) -> int:
        """Validate every RECORD against the latest SCHEMA of its stream."""
        schemas: dict[str, dict[str, Any]] = {}
        checked = 0
        for message in self.messages:
            if message["type"] == "SCHEMA":
                schemas[message["stream"]] = message["schema"]
            elif message["type"] == "RECORD":
                schema = schemas[message["stream"]]
                jsonschema.validate(
                    message["record"],
                    schema,
                    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
                )
                checked += 1
        return checked


@dataclass
class InstalledTap:
    """A generated tap, pip-installed (non-editable) into the shared venv."""

    stem: str
    package_dir: Path
    venv: Path
    executable: str

    def run(
        self,
        *args: str,
        config: dict[str, Any] | None = None,
        state: dict[str, Any] | None = None,
        catalog: dict[str, Any] | None = None,
        workdir: Path,
        env: dict[str, str] | None = None,
    ) -> Run:
        command = [str(self.venv / "bin" / self.executable), *args]
        for flag, value in (
            ("--config", config),
            ("--state", state),
            ("--catalog", catalog),
        ):
            if value is not None:
                path = workdir / f"{flag.strip('-')}-{_digest(value)}.json"
                path.write_text(json.dumps(value))
                command += [flag, str(path)]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
            env={**os.environ, **(env or {})},
            cwd=workdir,
        )
        run = Run(result.returncode, result.stdout, result.stderr)
        if "--about" not in args and "--discover" not in args:
            run.messages = [
                json.loads(line) for line in result.stdout.splitlines() if line.strip()
            ]
        return run


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]


def install_tap(spec_path: Path, out_dir: Path, root: Path) -> InstalledTap:
    """Generate the tap for ``spec_path`` and install it with ``--no-deps``."""
    return _install({spec_path.stem: (spec_path, out_dir)}, root)[spec_path.stem]


def install_taps(
    specs: dict[str, Path], out_root: Path, root: Path
) -> dict[str, InstalledTap]:
    """Generate several taps and install them with one pip call (faster)."""
    targets = {key: (path, out_root / f"tap-{key}") for key, path in specs.items()}
    return _install(targets, root)


def _install(
    targets: dict[str, tuple[Path, Path]], root: Path
) -> dict[str, InstalledTap]:
    generated = {
        key: generate(spec_path, out_dir)
        for key, (spec_path, out_dir) in targets.items()
    }
    pip(
        root,
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--force-reinstall",
        *(str(package_dir) for _, package_dir, _ in generated.values()),
    )
    return {
        key: InstalledTap(
            stem=key,
            package_dir=package_dir,
            venv=root,
            executable=connector.spec.distribution,
        )
        for key, (connector, package_dir, _) in generated.items()
    }


def python_of(root: Path) -> str:
    return str(root / "bin" / "python") if root.exists() else sys.executable
