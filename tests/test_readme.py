"""Every command and output block in README.md runs (tests/readme_runner.py), and
the runner itself fails when an output differs."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tap_builder.demo import DemoServer
from tests.readme_runner import (
    Block,
    Environment,
    Normaliser,
    Outcome,
    ReadmeError,
    coverage_problems,
    parse_blocks,
    parse_commands,
    run_readme,
)

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"


def _run(
    markdown: str, workdir: Path, *, demo_port: int | None = None, python: str = ""
) -> Outcome:
    text = textwrap.dedent(markdown).lstrip("\n")
    environment = Environment(
        workdir, python=python or sys.executable, demo_port=demo_port
    )
    return run_readme(text, environment)


# --------------------------------------------------------------------------- #
# The README itself
# --------------------------------------------------------------------------- #


@pytest.mark.slow
def test_readme_examples_run(
    demo_server: DemoServer, tap_venv: Path, tmp_path: Path
) -> None:
    """Each console block's commands print what the README shows, in README order,
    against the demo API; the python blocks run."""
    tools = Path(sys.executable).parent
    assert (tools / "tap-builder").exists(), f"no tap-builder next to {sys.executable}"
    workdir = tmp_path / "clone"
    workdir.mkdir()
    shutil.copytree(REPO / "sample_specs", workdir / "sample_specs")
    environment = Environment(
        workdir=workdir,
        path=(tap_venv / "bin", tools),
        python=sys.executable,
        pip=tap_venv / "bin" / "pip",
        demo_port=demo_server.port,
    )
    started = time.monotonic()
    outcome = run_readme(README.read_text(encoding="utf-8"), environment)
    took = time.monotonic() - started
    assert not outcome.failures, "\n\n".join(outcome.failures)
    assert outcome.commands >= 20, outcome  # the README's examples did run
    print(
        f"README: {outcome.blocks_run} blocks ({outcome.commands} commands, "
        f"{outcome.files} input files) in {took:.1f} s; "
        f"{len(outcome.not_run)} marked not run"
    )


def test_every_readme_block_runs_or_is_marked() -> None:
    """No console/bash/text block escapes: each runs, or says which test covers it
    (and that test exists)."""
    blocks = parse_blocks(README.read_text(encoding="utf-8"))
    assert coverage_problems(blocks, REPO) == []
    assert any(b.language == "console" and b.marker is None for b in blocks)


def test_ci_runs_the_readme_test_command() -> None:
    """The README's test command is not run by its own suite; .ci/run runs exactly
    that line, and the noxfile tests check what it runs."""
    blocks = parse_blocks(README.read_text(encoding="utf-8"))
    commands = [
        line
        for block in blocks
        if block.marker == "not run" and block.language == "bash"
        for line in block.body
        if "nox -s tests" in line
    ]
    assert len(commands) == 1, commands
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[-1] == commands[0]


# --------------------------------------------------------------------------- #
# The runner
# --------------------------------------------------------------------------- #


def test_wrong_output_fails_with_a_diff_naming_the_readme_line(tmp_path: Path) -> None:
    outcome = _run(
        """
        Intro.

        ```console
        $ printf 'one\\ntwo\\nthree\\n'
        one
        zwei
        three
        ```
        """,
        tmp_path,
    )
    assert len(outcome.failures) == 1
    message = outcome.failures[0]
    assert message.startswith("README.md:4: `$ printf 'one\\ntwo\\nthree\\n'`")
    assert "README.md:6 does not match" in message
    assert "\n-zwei\n+two\n" in message


def test_extra_and_missing_output_fail(tmp_path: Path) -> None:
    outcome = _run(
        """
        ```console
        $ echo a; echo b
        a
        $ echo c
        c
        d
        ```
        """,
        tmp_path,
    )
    assert len(outcome.failures) == 2
    assert "README.md:2" in outcome.failures[0]
    assert "it printed more than the README shows" in outcome.failures[0]
    assert "README.md:6 does not match" in outcome.failures[1]


def test_ellipsis_matches_any_number_of_lines(tmp_path: Path) -> None:
    outcome = _run(
        """
        ```console
        $ seq 1 5
        1
        ...
        5
        $ seq 1 2
        ...
        1
        2
        ...
        ```
        """,
        tmp_path,
    )
    assert outcome.failures == []
    assert outcome.commands == 2


def test_exit_status_is_checked(tmp_path: Path) -> None:
    outcome = _run(
        """
        ```console
        $ echo oops >&2; exit 3  # exit 3
        oops
        $ echo fine; \\
            false
        fine
        $ true  # exit 1
        ```
        """,
        tmp_path,
    )
    assert len(outcome.failures) == 2
    assert outcome.failures[0].startswith("README.md:4: `$ echo fine; false`")
    assert (
        "exited 1, the README expects 0 (end it in `# exit N`" in (outcome.failures[0])
    )
    assert "its output:\nfine" in outcome.failures[0]
    assert (
        "README.md:7: `$ true` exited 0, the README expects 1" in (outcome.failures[1])
    )


def test_stdout_and_stderr_are_merged_in_order(tmp_path: Path) -> None:
    outcome = _run(
        """
        ```console
        $ python3 -c "import sys; print(1); print(2, file=sys.stderr); print(3)"
        1
        2
        3
        ```
        """,
        tmp_path,
    )
    assert outcome.failures == []


def test_files_are_written_before_the_commands_that_read_them(tmp_path: Path) -> None:
    outcome = _run(
        """
        <!-- file: conf/settings.json -->

        ```json
        {"api_url": "http://127.0.0.1:8765/v1"}
        ```

        ```console
        $ cat conf/settings.json
        {"api_url": "http://127.0.0.1:8765/v1"}
        $ grep -c 4321 conf/settings.json
        1
        ```
        """,
        tmp_path,
        demo_port=4321,
    )
    assert outcome.failures == []
    assert outcome.files == 1
    assert "127.0.0.1:4321" in (tmp_path / "conf" / "settings.json").read_text()


def test_state_is_shared_across_blocks_and_cd_lasts_one_line(tmp_path: Path) -> None:
    outcome = _run(
        """
        ```console
        $ mkdir sub && cd sub && echo hi > note.txt
        ```

        Later:

        ```console
        $ cat sub/note.txt && ls
        hi
        sub
        ```
        """,
        tmp_path,
    )
    assert outcome.failures == []


def test_python_blocks_run_in_the_working_folder(tmp_path: Path) -> None:
    outcome = _run(
        """
        ```python
        from pathlib import Path
        Path("made.txt").write_text("yes")
        ```

        ```python
        raise SystemExit("broken example")
        ```
        """,
        tmp_path,
        python=sys.executable,
    )
    assert (tmp_path / "made.txt").read_text() == "yes"
    assert len(outcome.failures) == 1
    assert outcome.failures[0].startswith("README.md:6: the python block exited 1")
    assert "broken example" in outcome.failures[0]


def test_not_run_blocks_are_skipped(tmp_path: Path) -> None:
    outcome = _run(
        """
        <!-- not run: tests/test_cli.py covers it -->
        ```console
        $ false
        ```
        """,
        tmp_path,
    )
    assert outcome.failures == []
    assert outcome.commands == 0
    assert len(outcome.not_run) == 1


def test_pip_install_of_a_folder_is_the_one_rewrite(tmp_path: Path) -> None:
    environment = Environment(tmp_path, pip=Path("/venv/bin/pip"), demo_port=4321)
    assert environment.rewrite("pip install -q './tap-x[test]'") == (
        "/venv/bin/pip install --no-deps --no-build-isolation -q './tap-x[test]'"
    )
    assert environment.rewrite("tap-x --config c.json") == "tap-x --config c.json"
    assert environment.rewrite("curl http://127.0.0.1:8765/a") == (
        "curl http://127.0.0.1:4321/a"
    )
    with pytest.raises(ReadmeError, match="only local folders"):
        environment.rewrite("pip install requests")


def test_normalisation_covers_ports_times_paths_and_versions(tmp_path: Path) -> None:
    normalise = Normaliser(tmp_path, demo_port=41234)
    now = dt.datetime.now(dt.UTC).isoformat()

    def same(readme: str, actual: str) -> bool:
        return normalise.same(normalise(readme), normalise(actual))

    assert same("GET http://127.0.0.1:8765/v1", "GET http://127.0.0.1:41234/v1")
    assert not same("GET http://127.0.0.1:8765/v1", "GET http://127.0.0.1:41235/v1")
    assert same("sent to http://127.0.0.1:40000", "sent to http://127.0.0.1:50000")
    assert not same("http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1")
    assert same("-> 200 in 3 ms  12 records", "-> 200 in 12 ms  12 records")
    assert same("47 passed, 3 skipped in 0.44s", "47 passed, 3 skipped in 1.02s")
    assert not same("47 passed, 3 skipped in 0.44s", "46 passed, 3 skipped in 1.02s")
    assert same("wrote /home/me/tap-x", f"wrote {tmp_path}/tap-x")
    assert same("User-Agent: singer-sdk/0.54.9", "User-Agent: singer-sdk/0.55.0")
    assert same(
        '"time_extracted":"2026-12-02T07:46:48.982714+00:00"}',
        f'"time_extracted":"{now}"}}',
    )
    # the data's date-times are not the run's: they must match exactly
    assert not same(
        '"started_at": "2024-01-01T00:00:00+00:00"',
        '"started_at": "2024-01-01T06:00:00+00:00"',
    )
    assert not same("id  name", "id  mane")  # nothing else is forgiven


def test_blocks_and_markers_are_parsed_with_their_lines() -> None:
    text = textwrap.dedent(
        """\
        # Title

        <!-- file: broken.yaml -->
        ```yaml
        a: 1
        ```

        - a list item:

          ```text
          indented
          ```

        ```
        plain
        ```
        """
    )
    blocks = parse_blocks(text)
    assert [(b.language, b.line, b.marker, b.body) for b in blocks] == [
        ("yaml", 4, "file", ("a: 1",)),
        ("text", 10, None, ("indented",)),
        ("", 14, None, ("plain",)),
    ]
    assert blocks[0].value == "broken.yaml"


def test_continuation_lines_are_joined() -> None:
    block = Block(
        "console",
        1,
        ("$ tap-builder init x.yaml \\", "    --no-input  # exit 2", "out"),
    )
    [command] = parse_commands(block)
    assert command.line == 2
    assert command.shown == "tap-builder init x.yaml --no-input"
    assert command.exit_code == 2
    assert command.expected == ((4, "out"),)


def test_unmarked_blocks_and_unbacked_reasons_are_reported(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test_y():\n    pass\n")
    (tmp_path / "code.py").write_text("a = 1\nb = 2\nc = 3\n")
    text = textwrap.dedent(
        """\
        ```text
        $ tap-builder validate spec.yaml
        ```

        ```bash
        make
        ```

        <!-- not run: it needs a real account -->
        ```text
        x
        ```

        <!-- not run: tests/test_x.py::test_z covers it -->
        ```text
        x
        ```

        <!-- not run: tests/test_x.py::test_y covers it -->
        ```console
        $ ok
        ```

        <!-- not run: an excerpt of code.py (tests/test_x.py) -->
        ```python
        b = 2
        c = 3
        ```

        <!-- not run: an excerpt of code.py (tests/test_x.py) -->
        ```python
        a = 1
        c = 3
        ```

        ```console
        no prompt
        ```

        ```yaml
        free: yes
        ```
        """
    )
    problems = coverage_problems(parse_blocks(text), tmp_path)
    assert [p.split(":")[1] for p in problems] == ["1", "5", "10", "15", "31", "37"]
    assert "a ```text block neither runs nor is marked" in problems[0]
    assert "names no test that covers the block" in problems[2]
    assert "tests/test_x.py::test_z, which does not exist" in problems[3]
    assert "not an excerpt of code.py" in problems[4]
    assert "starts with a `$ ` command line" in problems[5]
