"""End-to-end tests of the workspace in a real Chromium, against a real server.

One server per session: ``roster demo`` fills a fresh SQLite database, ``roster serve`` serves it on a
free port, both as subprocesses on the suite's clock, exactly as a person would start it. Playwright
for Python drives Debian's ``chromium`` (``executable_path``): Playwright's own browser download is
never used. Without a Chromium the tests skip with how to install one, except under CI, where they
fail (``.ci/run`` installs it).

Every test signs in as one of the demo users; tests that change data pick their own physicians so
their order does not matter. Screenshots go to ``test-output/screenshots/`` (see :func:`shot`).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import suite_clock

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
#: The flags the machine's closed network needs (no background calls home) and a root user needs.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
INSTALL_HINT = (
    "no Chromium found: install Debian's package (sudo apt-get install chromium) or set ROSTER_CHROMIUM "
    "to a Chromium/Chrome binary; .ci/run installs it"
)


def chromium_path() -> str | None:
    configured = os.environ.get("ROSTER_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _chromium_or_skip() -> str:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    try:
        import playwright  # noqa: F401
    except ImportError:  # pragma: no cover - playwright is a test dependency
        pytest.fail("playwright is missing: pip install -e '.[test]'")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DemoServer:
    base_url: str
    env: dict[str, str]
    #: role -> (email, password), from ``roster demo``'s output
    users: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: role -> API key
    keys: dict[str, str] = field(default_factory=dict)

    def api(self, role: str = "admin") -> httpx.Client:
        """The JSON API as a system would call it, to set up or check what a page did."""
        return httpx.Client(
            base_url=f"{self.base_url}/api/v1", headers={"Authorization": f"Bearer {self.keys[role]}"}, timeout=30
        )

    def roster(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A ``roster`` CLI command against the same database."""
        return subprocess.run(
            suite_clock.command("roster", *args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
        )


def _parse_demo(output: str, server: DemoServer) -> None:
    section = None
    for line in output.splitlines():
        if line.startswith("API keys"):
            section = "keys"
        elif line.startswith("Workspace users"):
            section = "users"
        elif section and line.startswith("  "):
            first, second = line.split()
            if section == "keys":
                server.keys[first] = second
            else:
                role = re.sub(r"@.*", "", first).removeprefix("demo-")
                server.users[role] = (first, second)


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    _chromium_or_skip()
    work = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = suite_clock.environ(
        {
            "ROSTER_DATABASE_URL": f"sqlite:///{work / 'roster.db'}",
            "ROSTER_DATA_DIR": str(work / "var"),
            "ROSTER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
    )
    server = DemoServer(base_url=f"http://127.0.0.1:{port}", env=env)
    demo = server.roster("demo")
    _parse_demo(demo.stdout, server)
    assert server.keys and server.users, demo.stdout
    log = (work / "serve.log").open("w")
    process = subprocess.Popen(
        suite_clock.command("roster", "serve", "--port", str(port)), env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{server.base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{(work / 'serve.log').read_text()}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser per module. Playwright's sync API runs an asyncio loop in the main thread while it is
    open, which would make every later ``asyncio.run`` fail, so it never outlives the browser tests
    (which also run last: see ``tests/conftest.py``)."""
    path = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any, demo_server: DemoServer) -> Iterator[Any]:
    """A fresh browser profile (no cookies) on the demo server. Script errors, CSP violations and failed
    subresources (a missing stylesheet, a refused htmx call) fail the test; a page answered with an
    error status is the test's own business (Chromium also logs that as a console error)."""
    context = chromium.new_context(base_url=demo_server.base_url, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    tab.on(
        "response",
        lambda response: (
            errors.append(f"{response.status} {response.url}")
            if response.status >= 400 and response.request.resource_type not in ("document", "xhr", "fetch")
            else None
        ),
    )
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"the page logged errors: {errors}"


def sign_in(page: Any, server: DemoServer, role: str) -> None:
    """Through the sign-in form, as a person would."""
    email, password = server.users[role]
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$|/[^l][^/]*$"))


def shot(page: Any, name: str) -> Path:
    """A full-page screenshot under ``test-output/screenshots/`` (kept by CI as the pages' record)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_accessible(page: Any, *, context: str | None = None) -> None:
    """axe-core (vendored) on the page as rendered: no serious or critical violation."""
    page.evaluate(AXE.read_text())  # through DevTools, which the page's CSP does not govern
    result = page.evaluate(
        "async (context) => await axe.run(context || document, {resultTypes: ['violations']})", context
    )
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, "accessibility violations:\n" + "\n".join(bad)
