"""The course website (``make site``), built from the committed notebooks and read in headless Chromium.

The site is built once into a temporary folder (offline: no request leaves the machine), served on
a loopback port and opened page by page. Each page must load with no console error and no failed
request; every figure must carry alt text; every internal link must lead to a file of the site; the
search page must find "momentum" in the notebooks that teach it.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest

from course_utils.dev import site

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_PAGES = sorted(path.stem + ".html" for path in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> tuple[Path, float]:
    pytest.importorskip("myst_nb", reason="the site needs the authors' tools: pip install -r tests/requirements-dev.txt")
    out = tmp_path_factory.mktemp("site") / "html"
    return out, site.build(out)


@pytest.fixture(scope="module")
def site_url(built_site):
    out, _ = built_site
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d", str(out)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _problems(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    page.on("response", lambda response: problems.append(f"HTTP {response.status}: {response.url}")
            if response.status >= 400 else None)
    return problems


def test_the_site_builds_with_a_page_per_notebook(built_site):
    out, seconds = built_site
    print(f"site build: {seconds:.0f} s")
    missing = [name for name in ["index.html", "search.html", *NOTEBOOK_PAGES] if not (out / name).exists()]
    assert not missing, f"pages missing from the site: {missing}"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Course map" in index and all(name in index for name in NOTEBOOK_PAGES), "the landing page lists every notebook"


def test_every_page_loads_cleanly_with_described_figures_and_working_links(site_url, built_site, page):
    out, _ = built_site
    problems = _problems(page)
    broken, undescribed, figures = [], [], 0
    for name in ["index.html", *NOTEBOOK_PAGES]:
        page.goto(site_url + name)
        page.wait_for_load_state("networkidle")
        assert page.locator("main h1").count() >= 1, f"{name} has no title"
        for img in page.locator("main img").all():
            figures += 1
            if not (img.get_attribute("alt") or "").strip():
                undescribed.append(f"{name}: {img.get_attribute('src')}")
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            target = urlparse(urljoin(site_url + name, href))
            if target.netloc != urlparse(site_url).netloc:
                continue
            path = urldefrag(target.path)[0].lstrip("/") or "index.html"
            if not (out / path).exists():
                broken.append(f"{name} -> {href}")
        if name != "index.html":
            assert page.locator("a[href*='mybinder.org/v2/gh/']").count() >= 1, f"{name} has no Binder launch link"
            assert page.locator("a[href*='colab.research.google.com']").count() >= 1, f"{name} has no Colab link"
    assert not problems, "\n".join(problems[:20])
    assert not undescribed, "figures without alt text:\n" + "\n".join(undescribed[:20])
    assert not broken, "internal links that lead nowhere:\n" + "\n".join(broken[:20])
    assert figures >= 2 * len(NOTEBOOK_PAGES), f"only {figures} figures in {len(NOTEBOOK_PAGES)} notebook pages"


def test_solutions_are_collapsed_and_quizzes_read_as_text(site_url, page):
    page.goto(site_url + "06_training_loops.html")
    page.wait_for_load_state("networkidle")
    solution = page.locator("div.cell.tag_solution").first
    assert solution.count() == 1, "the exercise solutions carry their tag into the page"
    toggle = solution.locator("details").first
    assert toggle.count() == 1 and toggle.get_attribute("open") is None, "a solution starts collapsed"
    assert not solution.locator("pre").first.is_visible(), "the solution's code is hidden until the reader opens it"
    text = page.locator("main").inner_text()
    assert re.search(r"Self-check quiz \(\d+ questions", text), "the quiz is shown as text"


def test_search_finds_momentum(site_url, page):
    problems = _problems(page)
    page.goto(site_url + "search.html?q=momentum")
    results = page.locator("#search-results li a, ul.search li a")
    results.first.wait_for(timeout=30_000)
    titles = " ".join(results.all_inner_texts())
    assert "Training loops" in titles and "Optimizers" in titles, f"search for momentum found: {titles[:300]}"
    assert not problems, "\n".join(problems)
