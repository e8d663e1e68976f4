"""The studio in a real browser: Debian's Chromium, headless, driven by Playwright.

One browser and one studio (on a workspace holding copies of the sample specs)
for the module; each test opens its own page. Screenshots of each screen go to
``$TAP_BUILDER_SCREENSHOTS`` (default: a temporary folder); the best are
committed under docs/studio/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, sync_playwright

from tap_builder.demo import DemoServer, demo_config
from tap_builder.studio.server import StudioServer
from tests.e2e import SAMPLES, InstalledTap, pip

CHROMIUM = Path(os.environ.get("TAP_BUILDER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE_NAME = "<img src=x onerror=alert(1)></script><b>\"'&amp;{{ x }}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, with a fresh profile; fails if it is missing."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's Chromium "
            "(apt-get install -y chromium; .ci/run installs it)",
            pytrace=False,
        )
    # Playwright's launch gives the browser a fresh temporary profile each time.
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding copies of the sample specs."""
    root = tmp_path_factory.mktemp("studio-workspace")
    shutil.copytree(SAMPLES, root, dirs_exist_ok=True)
    (root / "hostile.yaml").write_text(
        (SAMPLES / "openlib.yaml")
        .read_text()
        .replace("name: Open Library Catalog", f"name: {json.dumps(HOSTILE_NAME)}", 1)
    )
    return root


@pytest.fixture(scope="module")
def studio(workspace: Path) -> Iterator[StudioServer]:
    """One studio on 127.0.0.1 for the module."""
    with StudioServer(root=workspace) as server:
        yield server


@pytest.fixture(scope="module")
def shots() -> Path:
    """Where screenshots go."""
    folder = os.environ.get("TAP_BUILDER_SCREENSHOTS")
    path = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="studio-shots-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def page(browser: Browser, studio: StudioServer) -> Iterator[Page]:
    """A fresh page on the studio, token taken from the printed URL."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    page.goto(studio.url)
    page.wait_for_selector("body[data-ready]")
    yield page
    context.close()
    assert errors == [], errors


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #


def key(path: str) -> str:
    return f'[data-key="{path}"]'


def _applied(page: Page) -> int:
    return int(page.evaluate("Number(document.body.dataset.version || 0)"))


def _wait_applied(page: Page, before: int) -> None:
    """Wait until the page has applied the server's answer to a change."""
    page.wait_for_function(
        f"() => Number(document.body.dataset.version || 0) > {before}"
    )


def edit(page: Page, selector: str, value: str) -> None:
    """Type into a form field and wait for the server's answer to be applied."""
    before = _applied(page)
    page.fill(selector, value)
    _wait_applied(page, before)


def choose(page: Page, selector: str, value: str) -> None:
    before = _applied(page)
    page.select_option(selector, value)
    _wait_applied(page, before)


def click_op(page: Page, selector: str) -> None:
    before = _applied(page)
    page.click(selector)
    _wait_applied(page, before)


def screen(page: Page, name: str) -> None:
    page.click(f"[data-screen={name}]")


def source(page: Page) -> str:
    return page.input_value("#source")


def open_spec(page: Page, name: str) -> None:
    screen(page, "start")
    click_op(page, f'[data-open="{name}"]')


def run_job(page: Page, button: str) -> None:
    page.click(button)
    page.wait_for_selector("#job-progress:not(:empty)")
    page.wait_for_function(
        "() => !document.querySelector('#job-cancel')", timeout=60_000
    )


def issues_next_to(page: Page, path: str) -> list[str]:
    return page.locator(f'[data-path="{path}"] > .issue').all_text_contents()


# --------------------------------------------------------------------------- #
# The seed walkthrough
# --------------------------------------------------------------------------- #


def _sample_response(server: DemoServer) -> str:
    response = requests.get(
        f"{server.url}/aircall/v1/calls",
        params={"per_page": 5, "order": "asc", "page": 1},
        auth=("demo-api-id", "demo-api-token"),
        timeout=10,
    )
    response.raise_for_status()
    return response.text


@pytest.mark.slow
def test_build_the_aircall_tap_by_clicking(
    page: Page,
    studio: StudioServer,
    workspace: Path,
    demo_server: DemoServer,
    tap_venv: Path,
    sample_tap: Any,
    shots: Path,
    tmp_path: Path,
) -> None:
    """Create New, details, auth, stream, infer, test, publish, then sync it."""
    # Start: Create New (the init starter)
    page.fill("#new-file", "my-aircall.yaml")
    page.fill("#new-name", "Aircall Studio")
    page.fill("#new-base-url", "https://api.aircall.io/v1")
    page.select_option("#new-auth", "basic")
    page.fill("#new-stream-path", "/calls")
    page.screenshot(path=str(shots / "start.png"))
    click_op(page, "#create")
    page.wait_for_selector("h2:text('Basic details')")
    assert (workspace / "my-aircall.yaml").exists()

    # Basic details: the tap id is suggested from the name, validated live
    edit(page, key("tap_id"), "Aircall!")
    assert issues_next_to(page, "tap_id"), "an invalid tap id shows next to the field"
    page.click("#use-tap-id")
    page.wait_for_function("() => !document.querySelector('#use-tap-id')")
    assert issues_next_to(page, "tap_id") == []
    edit(page, key("domain"), "aircall.io")
    assert "aircall.io" in page.get_attribute("#logo-preview", "src")
    edit(page, key("description"), "Calls from Aircall, the cloud phone system.")
    page.screenshot(path=str(shots / "details.png"))

    # Parameters: rename the starter's settings; the auth is flagged meanwhile
    screen(page, "params")
    edit(page, key("parameters[0].name"), "api_id")
    edit(page, key("parameters[0].label"), "API ID")
    edit(page, key("parameters[1].name"), "api_token")
    edit(page, key("parameters[1].label"), "API Token")
    screen(page, "auth")
    assert page.locator(".vars .var.undeclared").count() == 0
    assert issues_next_to(page, "authentication.username")  # {config.username}
    edit(page, key("authentication.username"), "{config.api_id}")
    edit(page, key("authentication.password"), "{config.api_token}")
    assert issues_next_to(page, "authentication.username") == []
    page.screenshot(path=str(shots / "authentication.png"))

    # Tenant view -> the in-memory test config
    screen(page, "params")
    config = demo_config("aircall", demo_server.url)
    page.fill("#tenant-api_id", config["api_id"])
    page.fill("#tenant-api_token", config["api_token"])
    page.fill("#tenant-api_url", config["api_url"])
    with page.expect_response(lambda r: "/api/config" in r.url):
        page.click("#tenant-save")
    page.screenshot(path=str(shots / "parameters.png"))
    assert config["api_token"] not in page.content()

    # Streams: selector, query params, page_increment pagination, incremental
    screen(page, "streams")
    edit(page, key("streams[0].records_selector"), "$.calls[*]")
    page.fill('[aria-label="new streams[0].query_params name"]', "per_page")
    page.fill('[aria-label="new streams[0].query_params value"]', "5")
    click_op(page, '[data-path="streams[0].query_params"] button:text("Add")')
    page.fill('[aria-label="new streams[0].query_params name"]', "order")
    page.fill('[aria-label="new streams[0].query_params value"]', "asc")
    click_op(page, '[data-path="streams[0].query_params"] button:text("Add")')
    choose(page, key("streams[0].pagination.type"), "page_increment")
    edit(page, key("streams[0].pagination.page_param"), "page")
    edit(page, key("streams[0].pagination.start_from"), "1")
    click_op(page, '[data-key="streams[0].incremental#enable"]')
    edit(page, key("streams[0].incremental.replication_key"), "started_at")
    edit(page, key("streams[0].incremental.param_name"), "from")
    edit(page, key("streams[0].incremental.date_format"), "timestamp")
    choose(page, key("streams[0].incremental.location"), "query")
    page.screenshot(path=str(shots / "streams.png"), full_page=True)

    # Infer: paste a whole response, with its selector; the diff, then apply
    screen(page, "infer")
    page.fill("#infer-sample", _sample_response(demo_server))
    page.fill("#infer-selector", "$.calls[*]")
    page.click("#infer-run")
    page.wait_for_selector("#infer-diff")
    assert "+" in page.text_content("#infer-diff")
    assert "started_at" in page.text_content("#infer-result")
    page.screenshot(path=str(shots / "infer.png"))
    click_op(page, "#infer-apply")
    # started_at is a Unix timestamp: declare it a date-time in the schema tree
    screen(page, "streams")
    choose(page, key("streams[0].schema.properties.started_at.type"), "string")
    choose(page, '[aria-label="format of started_at"]', "date-time")
    text = source(page)
    assert "started_at:" in text
    assert "format: date-time" in text

    # Test: records and the bookmark
    screen(page, "test")
    run_job(page, "#test-run")
    assert page.locator("#job-error").count() == 0, page.text_content("#job-error")
    assert "1001" in page.text_content("#test-records")
    assert "next page" in page.text_content("#test-requests")
    assert "2024-" in page.text_content("#test-bookmark")
    assert config["api_token"] not in page.content()
    page.screenshot(path=str(shots / "test.png"), full_page=True)

    # Save, then Publish (a folder and a zip)
    page.click("#save")
    page.wait_for_function("() => document.querySelector('#save').disabled")
    screen(page, "publish")
    page.fill("#publish-folder", "tap-aircall-studio")
    with page.expect_response(lambda r: "/api/publish" in r.url):
        page.click("#publish-run")
    page.wait_for_selector("#publish-result")
    assert "pip install ./tap-aircall-studio" in page.text_content("#publish-result")
    assert "meltano run tap-aircall-studio" in page.text_content("#publish-result")
    with page.expect_download() as download:
        page.click("#publish-zip")
    names = zipfile.ZipFile(download.value.path()).namelist()
    assert "tap-aircall-studio/pyproject.toml" in names
    page.screenshot(path=str(shots / "publish.png"))
    assert config["api_token"] not in (workspace / "my-aircall.yaml").read_text()

    # pip install the published package and sync it: the sample tap's records
    package = workspace / "tap-aircall-studio"
    pip(tap_venv, "install", "--no-deps", "--no-build-isolation", "--force-reinstall",
        str(package))  # fmt: skip
    mine = InstalledTap("my-aircall", package, tap_venv, "tap-aircall-studio")
    run = mine.run(config=config, workdir=tmp_path)
    assert run.returncode == 0, run.stderr
    reference: InstalledTap = sample_tap("aircall")
    expected = reference.run(config=config, workdir=tmp_path)
    assert run.records("calls") == expected.records("calls")
    assert len(run.records("calls")) == 12
    assert (
        run.final_state["bookmarks"]["calls"]
        == expected.final_state["bookmarks"]["calls"]
    )


# --------------------------------------------------------------------------- #
# Parent-child, save, errors, security
# --------------------------------------------------------------------------- #


def _use_demo_config(page: Page, stem: str, server: DemoServer, **changes: Any) -> None:
    screen(page, "params")
    config = {**demo_config(stem, server.url), **changes}
    for name, value in config.items():
        page.fill(f"#tenant-{name}", str(value))
    with page.expect_response(lambda r: "/api/config" in r.url):
        page.click("#tenant-save")


def test_parent_child_context_from_the_parent_schema(
    page: Page, demo_server: DemoServer, shots: Path
) -> None:
    """Context keys come from the parent's schema; Test shows child requests."""
    open_spec(page, "clinic.yaml")
    screen(page, "streams")
    page.click('[data-stream="2"]')  # appointments, a child of clients
    assert page.input_value(key("streams[2].parent_stream")) == "clients"
    assert page.text_content("#parent-context") == (
        "Context from clients: {client_id}, {clinic_code}"
    )
    # clients gives client_id and clinic_code, from its schema: add the name
    page.click('[data-stream="0"]')
    options = page.locator(
        '[id="streams[0].child_context#new-field"] option'
    ).all_text_contents()
    assert {"id", "name", "$.clinic.code"} <= set(options)
    page.fill('[id="streams[0].child_context#new-key"]', "client_name")
    page.select_option('[id="streams[0].child_context#new-field"]', "name")
    click_op(page, '[id="streams[0].child_context#add"]')
    assert "client_name: name" in source(page)
    page.click('[data-stream="2"]')
    assert "{client_name}" in page.text_content("#parent-context")
    page.screenshot(path=str(shots / "parent-child.png"), full_page=True)

    _use_demo_config(page, "clinic", demo_server)
    screen(page, "test")
    page.select_option("#test-stream", "2")
    run_job(page, "#test-run")
    requests_text = page.text_content("#test-requests")
    assert "clients: GET" in requests_text
    assert "appointments: GET" in requests_text
    assert "/clients/1/appointments" in requests_text
    assert "X-Clinic" in requests_text


def test_changing_one_field_of_a_commented_spec_changes_one_line(
    page: Page, workspace: Path
) -> None:
    """Open a commented spec, change one field in a form, save: one line differs."""
    spec = workspace / "aircall.yaml"
    before = spec.read_text().splitlines()
    open_spec(page, "aircall.yaml")
    screen(page, "streams")
    edit(page, key("streams[0].incremental.state_every"), "10")
    page.click("#save")
    page.wait_for_function("() => document.querySelector('#save').disabled")
    after = spec.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [("      state_every: 5", "      state_every: 10")]


def test_invalid_base_url_shows_the_cli_message_next_to_the_field(
    page: Page, workspace: Path, shots: Path
) -> None:
    """The base URL's problem: the CLI's message, next to the field and listed."""
    open_spec(page, "aircall.yaml")
    screen(page, "auth")
    edit(page, key("base_url"), "https://api.aircall.io/{v1")
    shown = issues_next_to(page, "base_url")
    (workspace / "broken.yaml").write_text(source(page))
    cli = subprocess.run(
        [sys.executable, "-m", "tap_builder.cli", "validate", "broken.yaml"],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next(x for x in cli.stderr.splitlines() if " base_url: " in x)
    assert shown == [line.split(" base_url: ", 1)[1]]
    listed = page.locator("#problems li").all_text_contents()
    assert line.replace("broken.yaml", "aircall.yaml") in listed
    assert page.locator(".vars .bad").count() == 1
    page.screenshot(path=str(shots / "validation.png"))


def test_a_401_in_test_names_the_auth_settings(
    page: Page, demo_server: DemoServer
) -> None:
    """Wrong credentials: Test fails with a message naming the settings to check."""
    open_spec(page, "aircall.yaml")
    _use_demo_config(page, "aircall", demo_server, api_token="wrong-token")
    screen(page, "test")
    run_job(page, "#test-run")
    message = page.text_content("#job-error")
    assert "401" in message
    assert "api_id, api_token" in message
    assert "wrong-token" not in page.content()


def test_test_run_can_be_cancelled(page: Page, demo_server: DemoServer) -> None:
    """A running Test shows a progress line and a Cancel button that ends it."""
    open_spec(page, "aircall.yaml")
    _use_demo_config(page, "aircall", demo_server)
    screen(page, "test")
    page.fill("#test-limit", "1000")
    page.click("#test-run")
    page.click("#job-cancel")
    page.wait_for_function(
        "() => document.querySelector('#job-progress')"
        ".textContent.includes('cancelled')"
    )


def test_hostile_spec_strings_render_as_text(page: Page) -> None:
    """Markup in a spec is shown as text: no element, no script, no dialog."""
    open_spec(page, "hostile.yaml")
    assert page.input_value(key("name")) == HOSTILE_NAME
    assert page.locator("main img[src=x]").count() == 0
    assert page.locator("main b").count() == 0
    assert HOSTILE_NAME in source(page) or json.dumps(HOSTILE_NAME) in source(page)
    screen(page, "streams")
    assert page.locator(".stream-list img").count() == 0


def test_requests_without_the_token_or_from_another_origin_are_refused(
    studio: StudioServer,
) -> None:
    """No token: 403; a foreign Origin or Host: 403; the token header: 200."""
    base = studio.base
    assert requests.get(f"{base}/api/state", timeout=5).status_code == 403
    assert requests.get(f"{base}/", timeout=5).status_code == 403
    ok = {"x-studio-token": studio.token}
    assert requests.get(f"{base}/api/state", headers=ok, timeout=5).status_code == 200
    foreign = {**ok, "origin": "http://evil.example"}
    response = requests.post(f"{base}/api/save", headers=foreign, timeout=5)
    assert response.status_code == 403
    rebinding = {**ok, "host": f"evil.example:{studio.port}"}
    assert (
        requests.get(f"{base}/api/state", headers=rebinding, timeout=5).status_code
        == 403
    )
    cookie_only = requests.Session()
    assert cookie_only.get(studio.url, timeout=5).status_code == 200
    assert cookie_only.get(f"{base}/api/state", timeout=5).status_code == 200
    # a change needs the token header, not just the cookie (CSRF)
    assert cookie_only.post(f"{base}/api/save", timeout=5).status_code == 403


def test_response_format_keys_have_forms(page: Page, workspace: Path) -> None:
    """csv, compression and download appear as forms, from the spec's schema."""
    for name in ("lab_formats.yaml", "item.schema.json"):
        shutil.copy(SAMPLES / "features" / name, workspace / name)
    page.reload()  # the studio lists the workspace's files when it loads
    open_spec(page, "lab_formats.yaml")
    screen(page, "streams")
    page.click('[data-stream="0"]')
    assert page.input_value(key("streams[0].response_format")) == "text/csv"
    assert page.input_value(key("streams[0].csv.delimiter")) == ";"
    page.click('[data-stream="3"]')
    assert page.input_value(key("streams[3].download.url")) == "$.files[*].url"
    choose(page, key("streams[3].compression"), "zip")
    assert "    compression: zip" in source(page)
