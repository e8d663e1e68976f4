"""Run README.md's examples, so the README cannot drift from what the tool does.

The convention (README.md's first line points here):

- A ``console`` block runs. A line that starts with ``$ `` is a command; a command
  line ending in ``\\`` goes on in the next line (the two are joined as the shell
  joins them). The lines after a command, up to the next ``$ `` line, are what it
  prints: stdout and stderr merged, in the order they were written (Python runs
  unbuffered, as on a terminal). Lines are compared one by one after the
  normalisation below; trailing whitespace and trailing blank lines are ignored
  (editors strip them). A line that is exactly ``...`` matches any number of
  lines, none included. A command must exit 0; one that ends in the shell comment
  ``# exit N`` must exit N.
- ``<!-- file: NAME -->`` right before a block (of any language) makes it an input
  file: its text is written to NAME in the working folder when the run gets there,
  so the README shows users every file its commands read.
- A ``python`` block runs with the test environment's interpreter, in the working
  folder, and must exit 0; its output is not compared.
- ``<!-- not run: REASON -->`` right before a block skips it. REASON names the
  test that covers the block instead (``tests/test_x.py::test_name``; the test must
  exist). A REASON that says ``excerpt of PATH`` also requires the block's lines to
  be a contiguous part of the file PATH.
- Every ``console``, ``bash``, ``sh``, ``shell``, ``text`` or unlabelled block must
  run or be marked ``not run`` (a ``bash`` block runs only by becoming a
  ``console`` block). Other blocks (YAML spec fragments, ...) are left alone.

The environment: one fresh working folder per README run, holding a copy of
``sample_specs/`` (commands run as in a clone's root); the blocks run in README
order and share it. Each command runs in its own ``bash`` in that folder (a ``cd``
lasts for its line), with PATH starting with the tap venv's ``bin`` (where
generated taps are installed), then the test environment's (``tap-builder``), and
a terminal 80 columns wide. The demo API runs on a free port: ``127.0.0.1:8765``
(its default port) in commands and input files becomes that port. The only other
rewrite of a command: ``pip install ./X`` (local folders only) runs the tap venv's
pip with ``--no-deps --no-build-isolation``.

Normalisation, the same for expected and actual lines, and nothing else:

- ports: the demo API's real port reads as 8765; any other port of 1024 or more on
  127.0.0.1 or localhost matches any other such port (but not 8765);
- times: durations ``in 3 ms`` / ``in 0.44s``; a date-time of the run itself
  (dated within a day of it) matches whatever date-time the README shows there;
  every other date-time (the demo API's data) must match exactly;
- temporary paths: the working folder reads as ``/home/me``;
- versions that change with releases: the number after ``singer-sdk/``,
  ``singer-sdk``, ``tap-builder``, ``Meltano SDK v`` and ``Python``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import shlex
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Languages whose blocks must run or carry a ``not run`` marker.
MUST_RUN_OR_MARK = frozenset({"console", "bash", "sh", "shell", "text", ""})
#: The port README commands use for the demo API (its default).
README_PORT = 8765
#: How the working folder shows in the README.
README_HOME = "/home/me"
ELLIPSIS = "..."
COMMAND_TIMEOUT = 300

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")
_MARKER = re.compile(r"^<!-- (?P<kind>file|not run): (?P<value>.+?) -->$")
_EXIT = re.compile(r"\s+#\s*exit\s+(?P<code>\d+)\s*$")
_TEST_REF = re.compile(r"\btests/[\w./-]+\.py(?:::(?P<name>\w+))?")
_EXCERPT = re.compile(r"\bexcerpt of (?P<path>[\w./-]+)")
_PIP_INSTALL = re.compile(r"^pip install(?=\s)(?P<rest>.*)$", re.DOTALL)
_HOSTS = r"(?P<host>127\.0\.0\.1|localhost)"
_PORT = re.compile(_HOSTS + r":(?P<port>\d+)\b")
_DURATION = re.compile(r"\bin \d+(?:\.\d+)? ?(?:ms|s)\b")
_VERSION = re.compile(
    r"(?P<name>singer-sdk/|singer-sdk |tap-builder |Meltano SDK v|Python )"
    r"\d+(?:\.\d+)+(?:[.\-+]?[a-z]+\d*)?"
)
_DATETIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?"
)


class ReadmeError(Exception):
    """The README breaks the convention (a malformed block or marker)."""


@dataclass(frozen=True)
class Block:
    """A fenced block: its language, the line of its opening fence, its text."""

    language: str
    line: int
    body: tuple[str, ...]
    marker: str | None = None  # "file" or "not run"
    value: str = ""  # the file name or the reason

    def body_line(self, index: int) -> int:
        """The README line number of ``body[index]``."""
        return self.line + 1 + index


@dataclass(frozen=True)
class Command:
    """One ``$`` command of a console block and the output the README shows."""

    line: int
    text: str
    exit_code: int
    expected: tuple[tuple[int, str], ...]  # (README line, text)

    @property
    def shown(self) -> str:
        """The command on one line, as messages quote it."""
        return " ".join(self.text.split())


def parse_blocks(text: str) -> list[Block]:
    """Every fenced block of a Markdown text, with the marker right before it."""
    lines = text.splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        closing = re.compile(rf"^ *{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        body = tuple(_dedent(line, indent) for line in lines[index + 1 : end])
        marker, value = _marker_before(lines, index)
        blocks.append(Block(opening["info"].lower(), index + 1, body, marker, value))
        index = end + 1
    return blocks


def _dedent(line: str, indent: int) -> str:
    return line[min(indent, len(line) - len(line.lstrip(" "))) :]


def _marker_before(lines: Sequence[str], index: int) -> tuple[str | None, str]:
    before = index - 1
    while before >= 0 and not lines[before].strip():
        before -= 1
    if before < 0:
        return None, ""
    found = _MARKER.match(lines[before].strip())
    return (found["kind"], found["value"].strip()) if found else (None, "")


def parse_commands(block: Block, readme: str = "README.md") -> list[Command]:
    """The commands of a console block, each with its expected output."""
    commands: list[Command] = []
    index = 0
    body = block.body
    while index < len(body):
        line = body[index]
        if not line.startswith("$ "):
            if commands or not line.strip():
                index += 1
                continue
            msg = (
                f"{readme}:{block.body_line(index)}: a console block starts with "
                "a `$ ` command line"
            )
            raise ReadmeError(msg)
        start = index
        text = line[2:]
        while text.endswith("\\") and index + 1 < len(body):
            index += 1
            text = text[:-1] + body[index]
        exit_code = 0
        if found := _EXIT.search(text):
            exit_code = int(found["code"])
            text = text[: found.start()]
        index += 1
        expected: list[tuple[int, str]] = []
        while index < len(body) and not body[index].startswith("$ "):
            expected.append((block.body_line(index), body[index]))
            index += 1
        while expected and not expected[-1][1].strip():
            expected.pop()
        commands.append(
            Command(block.body_line(start), text, exit_code, tuple(expected))
        )
    return commands


# --------------------------------------------------------------------------- #
# Which blocks run, and what the markers promise
# --------------------------------------------------------------------------- #


def coverage_problems(
    blocks: Sequence[Block], root: Path, readme: str = "README.md"
) -> list[str]:
    """Blocks that neither run nor are marked, and markers that promise nothing.

    Args:
        blocks: The README's blocks.
        root: The repository root (where ``tests/`` and excerpt paths are).
        readme: The README's name, for messages.
    """
    problems: list[str] = []
    for block in blocks:
        where = f"{readme}:{block.line}"
        if block.marker == "not run":
            problems += [f"{where}: {p}" for p in _reason_problems(block, root)]
        elif block.marker is None and block.language in MUST_RUN_OR_MARK - {"console"}:
            problems.append(
                f"{where}: a ```{block.language} block neither runs nor is marked; "
                "make it a ```console block (`$ ` commands and their output) or "
                "put <!-- not run: REASON naming the test that covers it --> "
                "right before it"
            )
        elif block.marker is None and block.language == "console":
            try:
                parse_commands(block, readme)
            except ReadmeError as exc:
                problems.append(str(exc))
    return problems


def _reason_problems(block: Block, root: Path) -> Iterator[str]:
    references = list(_TEST_REF.finditer(block.value))
    if not references:
        yield (
            f"the 'not run' reason names no test that covers the block "
            f"(tests/test_x.py::test_name): {block.value!r}"
        )
    for reference in references:
        if not _test_exists(root, reference[0]):
            yield f"the 'not run' reason names {reference[0]}, which does not exist"
    if found := _EXCERPT.search(block.value):
        source = root / found["path"]
        if not source.is_file():
            yield f"the excerpt's file {found['path']} does not exist"
        elif not _contains(source.read_text(encoding="utf-8"), block.body):
            yield f"the block is not an excerpt of {found['path']} (as it is now)"


def _test_exists(root: Path, reference: str) -> bool:
    file, _, name = reference.partition("::")
    path = root / file
    if not path.is_file():
        return False
    pattern = rf"^\s*(?:async )?def {re.escape(name)}\("
    return not name or bool(re.search(pattern, path.read_text(), re.MULTILINE))


def _contains(text: str, excerpt: Sequence[str]) -> bool:
    lines = [line.rstrip() for line in text.splitlines()]
    wanted = [line.rstrip() for line in excerpt]
    size = len(wanted)
    return any(lines[i : i + size] == wanted for i in range(len(lines) - size + 1))


# --------------------------------------------------------------------------- #
# Normalisation and matching
# --------------------------------------------------------------------------- #


@dataclass
class Normaliser:
    """Maps what changes between runs (and only that) to one spelling."""

    workdir: Path | None = None
    demo_port: int | None = None
    started: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())

    def __call__(self, line: str) -> str:
        """The normalised line."""
        line = line.rstrip()
        if self.workdir is not None:
            for spelling in {str(self.workdir.resolve()), str(self.workdir)}:
                line = line.replace(spelling, README_HOME)
        line = _PORT.sub(self._port, line)
        line = _DURATION.sub("in <time>", line)
        return _VERSION.sub(r"\g<name><version>", line)

    def _port(self, found: re.Match[str]) -> str:
        port = int(found["port"])
        if port == self.demo_port or port == README_PORT:
            return f"{found['host']}:{README_PORT}"
        if port >= 1024:
            return f"{found['host']}:<port>"
        return found[0]

    def same(self, expected: str, actual: str) -> bool:
        """Whether two normalised lines match (run-time date-times match any)."""
        if expected == actual:
            return True
        want, got = _DATETIME.split(expected), _DATETIME.split(actual)
        if len(want) != len(got):
            return False
        # split() with the group: [text, date, text, date, ..., text]; the whole
        # date-times are compared through finditer below.
        if want[0::2] != got[0::2]:
            return False
        pairs = zip(
            _DATETIME.finditer(expected), _DATETIME.finditer(actual), strict=True
        )
        return all(w[0] == g[0] or self._of_the_run(g["date"]) for w, g in pairs)

    def _of_the_run(self, date: str) -> bool:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            return False
        today = dt.datetime.now(dt.UTC).date()
        return self.started - dt.timedelta(days=1) <= day <= today + dt.timedelta(1)


def first_mismatch(
    expected: Sequence[str], actual: Sequence[str], same: Callable[[str, str], bool]
) -> int | None:
    """None when ``actual`` matches ``expected``, else the index of the first
    expected line no match gets past (``len(expected)``: output left over)."""
    reachable = {0}
    for index, want in enumerate(expected):
        if want == ELLIPSIS:
            reachable = set(range(min(reachable), len(actual) + 1))
        else:
            reachable = {
                j + 1 for j in reachable if j < len(actual) and same(want, actual[j])
            }
        if not reachable:
            return index
    return None if len(actual) in reachable else len(expected)


# --------------------------------------------------------------------------- #
# Running
# --------------------------------------------------------------------------- #


@dataclass
class Environment:
    """Where and with what a README runs."""

    workdir: Path
    path: Sequence[Path] = ()  # folders put first on PATH
    python: str = "python3"  # runs python blocks
    pip: Path | None = None  # the tap venv's pip, for `pip install ./X`
    demo_port: int | None = None
    readme: str = "README.md"

    def variables(self) -> dict[str, str]:
        """The process environment commands run with."""
        drop = ("PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST", "PYTHONPATH", "VIRTUAL_ENV")
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in drop
            and not key.startswith("TAP_")
            and key not in {"FORCE_COLOR", "PY_COLORS"}
        }
        env["PATH"] = os.pathsep.join(
            [*(str(p) for p in self.path), env.get("PATH", os.defpath)]
        )
        env.update(
            PYTHONUNBUFFERED="1",
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            COLUMNS="80",
            LINES="24",
            NO_COLOR="1",
        )
        return env

    def with_port(self, text: str) -> str:
        """README text with the demo API's default port replaced by the real one."""
        if self.demo_port is None:
            return text
        return re.sub(
            rf"\b(127\.0\.0\.1|localhost):{README_PORT}\b",
            rf"\g<1>:{self.demo_port}",
            text,
        )

    def rewrite(self, command: str) -> str:
        """The command to run for a README command (port, ``pip install ./X``)."""
        command = self.with_port(command)
        found = _PIP_INSTALL.match(command)
        if found is None:
            return command
        targets = [a for a in shlex.split(found["rest"]) if not a.startswith("-")]
        if not targets or not all(a.startswith("./") for a in targets):
            msg = "the README runner installs only local folders: pip install ./X"
            raise ReadmeError(msg)
        if self.pip is None:
            msg = "no tap venv to run `pip install` in"
            raise ReadmeError(msg)
        pip = shlex.quote(str(self.pip))
        return f"{pip} install --no-deps --no-build-isolation{found['rest']}"


@dataclass
class Outcome:
    """What a README run did and what did not match."""

    failures: list[str] = field(default_factory=list)
    commands: int = 0
    blocks_run: int = 0
    files: int = 0
    not_run: list[Block] = field(default_factory=list)


def run_readme(text: str, environment: Environment) -> Outcome:
    """Write the input files, run the console and python blocks, in order."""
    outcome = Outcome()
    normalise = Normaliser(environment.workdir, environment.demo_port)
    variables = environment.variables()
    readme = environment.readme
    for block in parse_blocks(text):
        if block.marker == "not run":
            outcome.not_run.append(block)
        elif block.marker == "file":
            _write_file(block, environment, readme)
            outcome.files += 1
        elif block.language == "console":
            outcome.blocks_run += 1
            for command in parse_commands(block, readme):
                outcome.commands += 1
                failure = _run_command(command, environment, variables, normalise)
                if failure:
                    outcome.failures.append(failure)
        elif block.language == "python":
            outcome.blocks_run += 1
            if failure := _run_python(block, environment, variables):
                outcome.failures.append(failure)
    return outcome


def _write_file(block: Block, environment: Environment, readme: str) -> None:
    name = Path(block.value)
    if name.is_absolute() or ".." in name.parts:
        msg = f"{readme}:{block.line}: <!-- file: {block.value} --> leaves the folder"
        raise ReadmeError(msg)
    target = environment.workdir / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(environment.with_port("\n".join(block.body) + "\n"))


def _run_command(
    command: Command,
    environment: Environment,
    variables: dict[str, str],
    normalise: Normaliser,
) -> str | None:
    where = f"{environment.readme}:{command.line}"
    try:
        script = environment.rewrite(command.text)
    except ReadmeError as exc:
        return f"{where}: `$ {command.shown}`: {exc}"
    try:
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=environment.workdir,
            env=variables,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"{where}: `$ {command.shown}` ran longer than {COMMAND_TIMEOUT} s"
    actual = [normalise(line) for line in result.stdout.splitlines()]
    while actual and not actual[-1]:
        actual.pop()
    expected = [normalise(text) for _, text in command.expected]
    problems: list[str] = []
    if result.returncode != command.exit_code:
        hint = "" if command.exit_code else " (end it in `# exit N` if it should fail)"
        problems.append(
            f"exited {result.returncode}, the README expects {command.exit_code}{hint}"
        )
    mismatch = first_mismatch(expected, actual, normalise.same)
    if mismatch is not None:
        if mismatch < len(command.expected):
            at = f"{environment.readme}:{command.expected[mismatch][0]} does not match"
        else:
            at = "it printed more than the README shows"
        diff = difflib.unified_diff(
            expected,
            actual,
            f"{environment.readme} (expected, normalised)",
            "actual output (normalised)",
            lineterm="",
        )
        problems.append(f"its output differs: {at}\n" + "\n".join(diff))
    if not problems:
        return None
    if mismatch is None:  # show the output anyway, it explains the exit status
        problems.append("its output:\n" + "\n".join(actual[-40:]))
    return f"{where}: `$ {command.shown}` " + "; ".join(problems)


def _run_python(
    block: Block, environment: Environment, variables: dict[str, str]
) -> str | None:
    result = subprocess.run(
        [environment.python, "-"],
        input="\n".join(block.body) + "\n",
        cwd=environment.workdir,
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if result.returncode == 0:
        return None
    return (
        f"{environment.readme}:{block.line}: the python block exited "
        f"{result.returncode}:\n{result.stdout[-4000:]}"
    )
