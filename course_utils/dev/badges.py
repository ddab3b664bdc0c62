"""Binder badges from one setting: ``python -m course_utils.dev.badges [--check]`` (``make badges``).

Every notebook's title cell and the README carry a Binder badge. Its repository and branch come from
``PUBLIC_REPOSITORY`` and ``PUBLIC_REF`` in ``course_utils.dev.settings``: change them there, run
``make badges``, and every badge (and the site's launch buttons) follows. ``--check`` only reports
badges that disagree, for the tests.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import nbformat

from course_utils.dev.settings import PUBLIC_REF, PUBLIC_REPOSITORY

ROOT = Path(__file__).resolve().parents[2]
BADGE_URL = re.compile(r"https://mybinder\.org/v2/gh/[^\s)]+?\?urlpath=lab/tree/(notebooks/[\w.]+\.ipynb)")


def binder_url(path: str, repository: str = PUBLIC_REPOSITORY, ref: str = PUBLIC_REF) -> str:
    """The Binder link that opens ``path`` (relative to the repository root) in JupyterLab."""
    return f"https://mybinder.org/v2/gh/{repository}/{ref}?urlpath=lab/tree/{path}"


def rewrite(text: str, repository: str = PUBLIC_REPOSITORY, ref: str = PUBLIC_REF) -> str:
    """``text`` with every Binder link pointing at ``repository`` and ``ref`` (by default the setting)."""
    return BADGE_URL.sub(lambda match: binder_url(match.group(1), repository, ref), text)


def problems(root: Path = ROOT) -> list[str]:
    """Every badge that is missing, opens another notebook, or points elsewhere than the setting."""
    found = []
    readme = (root / "README.md").read_text(encoding="utf-8")
    if binder_url("notebooks/00_welcome.ipynb") not in readme:
        found.append("README.md: no badge that opens notebooks/00_welcome.ipynb on the configured repository")
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        title = nbformat.read(path, as_version=4).cells[0].source
        want = binder_url(f"notebooks/{path.name}")
        if want not in title:
            found.append(f"{path.name}: the title cell has no badge {want}")
    for path in [root / "README.md", *sorted((root / "notebooks").glob("*.ipynb"))]:
        text = path.read_text(encoding="utf-8")
        found += [f"{path.name}: a badge points at {url}" for url in
                  (m.group(0) for m in BADGE_URL.finditer(text)) if url != rewrite(url)]
    return found


def write(root: Path = ROOT) -> list[Path]:
    """Rewrite the README's and every notebook title cell's badge; returns the files that changed."""
    changed = []
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    if rewrite(text) != text:
        readme.write_text(rewrite(text), encoding="utf-8")
        changed.append(readme)
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        title = nb.cells[0]
        if rewrite(title.source) != title.source:
            title.source = rewrite(title.source)
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report badges that disagree (exit 1 if any)")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        print("\n".join(found) or f"every badge points at {PUBLIC_REPOSITORY}@{PUBLIC_REF}")
        raise SystemExit(1 if found else 0)
    changed = write()
    print(f"{len(changed)} file(s) rewritten for {PUBLIC_REPOSITORY}@{PUBLIC_REF}")


if __name__ == "__main__":
    main()
