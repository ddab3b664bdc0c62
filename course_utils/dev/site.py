"""Build the course website: static HTML from the committed, executed notebooks (never re-executed).

``python -m course_utils.dev.site [--out build/site]`` (``make site``). The stack is Sphinx with
myst-nb and the book theme, MathJax from sphinx-mathjax-offline: all of it comes from PyPI and
nothing is fetched at build time or when a page is read, so the site builds and reads offline.

What the pages get, beyond the notebooks as they are committed:

* the landing page is the README's introduction and course map;
* each exercise's solution cell (tag ``solution``) is collapsed behind a "show" toggle;
* widgets show their saved text version (controls described, quiz questions as text), not a
  widget that cannot run in a static page;
* every figure gets a short alt text: the section it belongs to and the sentence that introduces it;
* a Binder and a Colab launch button on every notebook page (the theme's launch menu), from the
  one repository setting in ``course_utils.dev.settings``; Sphinx's own search box.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from course_utils.dev.settings import PUBLIC_REF, PUBLIC_REPOSITORY

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
ALT_LIMIT = 160
# The badge picture lives on mybinder.org, which an offline reader cannot reach: the site links in words.
BADGE = re.compile(r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]\(([^)]*)\)")

FAVICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" '
           'fill="#ee4c2c"/><text x="8" y="12" font-size="10" text-anchor="middle" fill="white">DL</text></svg>')
CONF = '''\
project = "Deep Learning with PyTorch, in Jupyter"
author = "the course authors"
extensions = ["myst_nb", "sphinx-mathjax-offline"]  # the PyPI package imports under its hyphenated name
exclude_patterns = ["_build"]
html_theme = "sphinx_book_theme"
html_title = project
html_static_path = []
html_context = {{"default_mode": "auto"}}
html_favicon = "favicon.svg"
nb_execution_mode = "off"
nb_ipywidgets_js = {{}}
nb_mime_priority_overrides = [("html", "{widget}", None)]
myst_enable_extensions = ["dollarmath", "amsmath"]
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

html_theme_options = {{
    "repository_url": "https://github.com/{repository}",
    "repository_branch": "{ref}",
    "path_to_docs": "notebooks",
    "use_repository_button": True,
    "launch_buttons": {{"binderhub_url": "https://mybinder.org", "colab_url": "https://colab.research.google.com",
                       "notebook_interface": "jupyterlab"}},
}}
'''


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _plain(markdown: str) -> str:
    """Markdown as plain words: no links, emphasis, code marks, maths or HTML."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>|[*_`#>]|&nbsp;", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _first_sentence(markdown: str) -> str:
    text = _plain(markdown)
    match = re.match(r"(.+?[.!?:])(\s|$)", text)
    return match.group(1) if match else text


def figure_alt(heading: str, lead: str) -> str:
    """A short description of a figure: its section and the sentence that introduces it."""
    heading, lead = _plain(heading), _first_sentence(lead)
    parts = [part for part in (heading, lead) if part]
    alt = "Figure: " + (" · ".join(parts) if parts else "a plot made by the code cell above")
    return alt if len(alt) <= ALT_LIMIT else alt[: ALT_LIMIT - 1].rstrip() + "…"


def prepare_notebook(nb: dict) -> dict:
    """The notebook as the site shows it: solutions collapsed, widgets as text, figures described."""
    heading, lead = "", ""
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            text = cell["source"] = BADGE.sub(r"[launch on Binder](\1)", _text(cell))
            titles = re.findall(r"^#{1,4}\s+(.+)$", text, flags=re.M)
            if titles:
                heading = titles[-1]
            body = re.sub(r"^#{1,4}\s+.+$", "", text, flags=re.M).strip()
            if body:
                lead = body
            continue
        if cell["cell_type"] != "code":
            continue
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "solution" in tags and "hide-input" not in tags:
            tags.append("hide-input")
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_MIME, None)
        if any("image/png" in output.get("data", {}) for output in cell.get("outputs", [])):
            cell["metadata"].setdefault("mystnb", {})["image"] = {"alt": figure_alt(heading, lead)}
    return nb


def landing_page(readme: str) -> str:
    """The README's introduction and course map, with links that point at the notebook pages."""
    intro = readme.split("\n## ", 1)[0]
    intro = "\n".join(line for line in intro.splitlines() if "mybinder.org" not in line and not line.startswith(">"))
    match = re.search(r"^## Course map\n(.*?)(?=^## )", readme, flags=re.M | re.S)
    if not match:
        raise ValueError("README.md has no '## Course map' section: the site's landing page is built from it.")
    names = sorted(path.stem for path in NOTEBOOKS.glob("*.ipynb"))
    toctree = "\n".join(["```{toctree}", ":hidden:", ":maxdepth: 1", "", *names, "```"])
    page = f"{intro.strip()}\n\n## Course map\n{match.group(1).strip()}\n\n{toctree}\n"
    return re.sub(r"\]\((?!https?://)([^)]*)\)", lambda link: f"]({_site_link(link.group(1))})", page)


def _site_link(target: str) -> str:
    """A README link as the site needs it: notebooks are pages here; anything else lives on GitHub."""
    if target.startswith("notebooks/") and target.endswith(".ipynb"):
        return target.removeprefix("notebooks/")
    home = f"https://github.com/{PUBLIC_REPOSITORY}"
    return f"{home}{target}" if target.startswith("#") else f"{home}/blob/{PUBLIC_REF}/{target}"


def write_sources(source: Path) -> None:
    """The Sphinx project: conf.py, the landing page and a prepared copy of every notebook."""
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    (source / "conf.py").write_text(CONF.format(widget=WIDGET_MIME, repository=PUBLIC_REPOSITORY, ref=PUBLIC_REF))
    (source / "favicon.svg").write_text(FAVICON)
    (source / "index.md").write_text(landing_page((ROOT / "README.md").read_text(encoding="utf-8")))
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = prepare_notebook(json.loads(path.read_text(encoding="utf-8")))
        (source / path.name).write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")


def build(out: Path, source: Path | None = None) -> float:
    """Build the site into ``out``; returns the build time in seconds. Warnings fail the build."""
    source = source or out.parent / (out.name + "-src")
    start = time.perf_counter()
    write_sources(source)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", str(source), str(out)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the site did not build (sphinx exit code {result.returncode}):\n"
                           f"{result.stderr[-4000:]}")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="where the HTML goes")
    args = parser.parse_args(argv)
    seconds = build(args.out)
    print(f"site built in {seconds:.0f} s: open {args.out / 'index.html'}")


if __name__ == "__main__":
    main()
