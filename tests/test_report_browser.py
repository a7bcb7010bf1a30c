"""The report in a real browser: headless Chromium opens it without a console error, a request
or horizontal scrolling on a phone, and draws something on screen and on paper.

Needs Playwright and Debian's `chromium`; skipped without them, except in CI (the `CI`
environment variable set), where `.ci/run` installs Chromium and the test must run.
Screenshots are left in the test's `tmp_path` to look at (`pytest --basetemp DIR`).
"""

from __future__ import annotations

import io
import os
import shutil

import pytest

from kerasmnist.report import write_report
from tests.test_report import finished_search

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "playwright is not installed (the test extra)"
    else:
        missing = "chromium is not installed (apt-get install chromium)" if found is None else ""
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test, but {missing}")
        pytest.skip(missing)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    chromium = _chromium()
    run_dir = finished_search(tmp_path_factory.mktemp("browser") / "search")
    return chromium, write_report(run_dir)


@pytest.fixture(scope="module")
def browser(report):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=report[0], args=ARGS)
        yield browser
        browser.close()


class Watched:
    """A page whose console errors and warnings, page errors and requests are recorded."""

    def __init__(self, browser, **context):
        self.context = browser.new_context(**context)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed request: {r.url}"))
        self.page.on("request", lambda r: None if r.url.startswith(("file:", "data:"))
                     else self.problems.append(f"request: {r.url}"))

    def open(self, path):
        self.page.goto(path.as_uri(), wait_until="load")
        return self.page

    def close(self):
        self.context.close()


def not_blank(png: bytes) -> None:
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(png), format="png")[..., :3]
    colours = {tuple(p) for p in (pixels[::7, ::7].reshape(-1, 3) * 255).astype(int).tolist()}
    assert len(colours) > 20, f"{len(colours)} distinct colours"
    assert pixels.std() > 0.05 and pixels.mean() < 0.995


def test_desktop_page_loads_clean_and_shows_every_image(browser, report, tmp_path):
    watched = Watched(browser, viewport=DESKTOP)
    page = watched.open(report[1])
    sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth])")
    assert sizes and all(done and width > 0 for done, width in sizes)
    shot = page.screenshot(path=str(tmp_path / "desktop.png"), full_page=True)
    not_blank(shot)
    watched.close()
    assert watched.problems == []


def test_phone_page_does_not_scroll_sideways(browser, report, tmp_path):
    watched = Watched(browser, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = watched.open(report[1])
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"
    not_blank(page.screenshot(path=str(tmp_path / "phone.png")))
    page.screenshot(path=str(tmp_path / "phone-full.png"), full_page=True)
    watched.close()
    assert watched.problems == []


def test_print_media_renders_pages(browser, report, tmp_path):
    watched = Watched(browser, viewport=DESKTOP)
    page = watched.open(report[1])
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('nav')).display") == "none"
    not_blank(page.screenshot(path=str(tmp_path / "print.png"), full_page=True))
    pdf = page.pdf(path=str(tmp_path / "report.pdf"), format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    watched.close()
    assert watched.problems == []
