"""Every relative link and ``path:`` reference in the Markdown docs names a file in the repo.

Checked: ``README.md`` and ``docs/*.md``. A relative link ``[text](target)``
(or ``![alt](target)``, or a reference definition ``[id]: target``) resolves
against the Markdown file's directory; a ``path: some/file`` mention (plain or
backticked) resolves against the repository root. URLs with a scheme, bare
``#anchors`` and fenced code blocks are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"`[^`]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_PATH = re.compile(r"\bpath:\s*`?([^\s`'\")\]]+)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _markdown_files(root: Path) -> list[Path]:
    files = sorted((root / "docs").glob("*.md"))
    readme = root / "README.md"
    return [readme, *files] if readme.is_file() else files


def _references(text: str) -> Iterator[tuple[int, str, bool]]:
    """(line, target, relative to the file?) for each link and ``path:`` mention outside fences."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        for match in _PATH.finditer(line):
            yield number, match.group(1).rstrip(".,;:"), False
        prose = _INLINE_CODE.sub("", line)  # links are not parsed inside code spans
        for match in _LINK.finditer(prose):
            yield number, match.group(1), True
        reference = _REFERENCE.match(prose)
        if reference:
            yield number, reference.group(1), True


def broken_links(root: Path) -> list[str]:
    """``file:line: target`` for each link or ``path:`` reference naming no existing file."""
    broken = []
    for markdown in _markdown_files(root):
        for line, target, relative in _references(markdown.read_text()):
            if _SCHEME.match(target) or target.startswith("#"):
                continue
            path = target.split("#", 1)[0].split("?", 1)[0]
            if not path:
                continue
            base = root if path.startswith("/") or not relative else markdown.parent
            if not (base / path.lstrip("/")).exists():
                broken.append(f"{markdown.relative_to(root)}:{line}: {target}")
    return broken


def test_docs_links_point_at_existing_files() -> None:
    broken = broken_links(REPO)
    assert not broken, "broken links in the docs:\n" + "\n".join(broken)


def _repo(tmp_path: Path, readme: str) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# guide\n")
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "_pg.py").write_text("")
    (tmp_path / "README.md").write_text(readme)
    return tmp_path


def test_existing_targets_pass(tmp_path: Path) -> None:
    readme = (
        "See [the guide](docs/guide.md#install), ![logo](docs/guide.md),\n"
        "[site](https://example.org), [top](#txstore) and `path: store/_pg.py`.\n"
        "[ref]: docs/guide.md\n"
        "path: store/_pg.py\n"
    )
    assert broken_links(_repo(tmp_path, readme)) == []


def test_each_broken_link_is_reported_with_file_and_line(tmp_path: Path) -> None:
    readme = (
        "# txstore\n"
        "See [design](docs/design.md) and [guide](docs/guide.md).\n"
        "The runner lives at `path: store/_runner.py`.\n"
        "```yaml\n"
        "path: not/checked/in/fences.txt\n"
        "```\n"
        "[old]: docs/old.md\n"
    )
    root = _repo(tmp_path, readme)
    (root / "docs" / "guide.md").write_text(
        "Back to [the readme](../README.md), [up](../nothing.md)\n"
    )
    assert broken_links(root) == [
        "README.md:2: docs/design.md",
        "README.md:3: store/_runner.py",
        "README.md:7: docs/old.md",
        "docs/guide.md:1: ../nothing.md",
    ]
