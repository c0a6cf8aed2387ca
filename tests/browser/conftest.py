"""A live server on 127.0.0.1 with the demo seeded, and Chromium driven by Playwright.

The browser is Debian's Chromium (`/usr/bin/chromium`, installed by `make test`);
Playwright's own browser download is never used. Screenshots go to tests/artifacts/.

Every page a browser test opens is watched: a Content-Security-Policy violation (the
browser's « Refused to … » and the page's `securitypolicyviolation` event), a header the
browser rejects, or an uncaught JavaScript error fails the test.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    WebError,
    sync_playwright,
)
from werkzeug.serving import make_server

from app.demo import seed_demo
from app.extensions import db

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
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


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium introuvable : `make test` installe le paquet Debian chromium.")
        pytest.skip("Chromium is not installed (make test installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(committed: Flask) -> Iterator[str]:
    """The app served on a free local port, over the demo data (committed, emptied after)."""
    with committed.app_context():
        seed_demo()
        db.session.commit()
    server = make_server("127.0.0.1", 0, committed, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


# Runs in every document before its own scripts (through the DevTools protocol, so the
# page's policy does not apply to it) and reports each violation on the console.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const target = event.target instanceof Element ? event.target.outerHTML.slice(0, 200) : "";
  console.error(`CSP violation: ${event.effectiveDirective} blocked ${event.blockedURI}`
    + ` on ${event.documentURI} (${event.sourceFile || "?"}:${event.lineNumber}) ${target}`);
});
"""
# Console messages that mean a policy or header is wrong.
POLICY_MESSAGES = ("CSP violation", "Refused to", "Content Security Policy", "Permissions-Policy")


def watch(context: BrowserContext) -> list[str]:
    """The policy violations and JavaScript errors of every page of `context`."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if any(sign in message.text for sign in POLICY_MESSAGES):
            problems.append(f"{message.type}: {message.text}")

    def on_error(error: WebError) -> None:
        problems.append(f"JavaScript: {error.error}")

    context.on("console", on_console)
    context.on("weberror", on_error)
    return problems


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="fr-FR")
    context.add_init_script(REPORT_VIOLATIONS)
    problems = watch(context)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
    assert not problems, "\n".join(problems)


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    # caret="initial": Playwright's default hides the caret by writing style attributes
    # into the page; DSFR then copies such an element (the mobile menu) and the copy's
    # inline style is refused by the policy, a violation no real visitor can cause.
    page.screenshot(path=str(path), full_page=True, caret="initial")
    return path


# Two frames for a new layout, then the end of the transitions it started (DSFR fades its
# modals and unfolds its accordions over 0.3 s): a click or a check made meanwhile may
# land on an element still moving, or read a fading text as faint.
_SETTLED = """async () => {
    await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
    const ending = document.getAnimations().filter(
        animation => animation.effect?.getComputedTiming().endTime !== Infinity);
    await Promise.all(ending.map(animation => animation.finished.catch(() => null)));
}"""


def settle(page: Page) -> None:
    """Wait until the page's transitions are over."""
    page.evaluate(_SETTLED)
