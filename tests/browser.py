"""Playwright driving Debian's Chromium (CI cannot download Playwright's own browsers)."""

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"

needs_chromium = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)),
    reason=f"no Chromium at {CHROMIUM}; install Debian's chromium package to run browser tests",
)


@contextmanager
def chromium(*, width: int = 1280, height: int = 900):
    """A fresh headless Chromium page; flags keep it off the (closed) network."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's ORM calls are still
    # synchronous and on their own connection.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def shot(page, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_load_state("networkidle")


def sign_up(page, base_url: str, email: str, market, *, screenshot: str = "") -> None:
    """Create an account on the sign-up page (a screenshot of the filled form if named); the
    site then asks for a plan."""
    page.goto(f"{base_url}/signup/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "a-long-and-good-passphrase")
    page.select_option("select[name=market]", str(market.pk))
    if screenshot:
        shot(page, screenshot)
    page.click("form button[type=submit]")
    page.wait_for_url("**/me/plan/")
