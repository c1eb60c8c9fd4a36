"""Every relative link of the repository's Markdown leads somewhere in the repository.

A clone has only what is tracked, so a link to a file outside it (the old
`../shared/contract/…`) or to a heading that was renamed is a dead end for a reader.
Links are checked on the files alone, without network: external URLs are not followed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SKIPPED_DIRS = {".git", ".venv", "node_modules", "chanalytics-data", "build", "dist"}

_FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
# [text](target "title") and ![alt](target); the target may be wrapped in <…>.
_INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+[\"'(][^)]*)?\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.MULTILINE)
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$", re.MULTILINE)
_HTML_ID = re.compile(r"""<a\s[^>]*(?:name|id)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def markdown_files() -> list[Path]:
    """The Markdown files git tracks or would track (every `*.md` under the root when git
    is not at hand)."""
    git = shutil.which("git")
    if git and (ROOT / ".git").exists():
        out = subprocess.run([git, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard", "--", "*.md"], cwd=ROOT, check=True,
                             capture_output=True).stdout.decode()
        return sorted(ROOT / name for name in out.split("\0") if name)
    return sorted(p for p in ROOT.rglob("*.md")
                  if not _SKIPPED_DIRS & set(p.relative_to(ROOT).parts))


def _prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets are not links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    prose = _prose(text)
    found = [m.group(1) for m in _INLINE.finditer(prose)]
    found += [m.group(1) for m in _REFERENCE.finditer(prose)]
    return [t[1:-1] if t.startswith("<") else t for t in found]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: its text lower-cased, punctuation dropped (but `-`
    and `_`), each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return kept.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every anchor of a Markdown file: headings (repeats get -1, -2, …) and HTML ids."""
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set(_HTML_ID.findall(text))
    for match in _HEADING.finditer(text):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return frozenset(out)


def problems(path: Path, root: Path = ROOT) -> list[str]:
    """Why each broken relative link of `path` (a file under `root`) is broken."""
    out = []
    for target in links(path.read_text(encoding="utf-8")):
        if _SCHEME.match(target) or target.startswith("//"):
            continue  # http(s):, mailto: — not followed here
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not resolved.is_relative_to(root):
            out.append(f"{target}: outside the repository")
        elif not resolved.exists():
            out.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and unquote(anchor) not in anchors(resolved):
            out.append(f"{target}: no heading #{anchor} in {resolved.relative_to(root)}")
    return out


FILES = markdown_files()


class TestLinkFinding:
    def test_links_images_and_references_are_found(self) -> None:
        """Inline links, images and reference definitions count; code does not."""
        text = ("See [a](docs/a.md) and ![b](img/b.png \"t\") and [c][1].\n\n"
                "[1]: <docs/c d.md>\n\n```sh\n[e](nowhere.md)\n```\n`[f](nowhere.md)`\n")
        assert links(text) == ["docs/a.md", "img/b.png", "docs/c d.md"]

    def test_slugs_follow_github(self) -> None:
        """Lower case, punctuation dropped, spaces to hyphens, code marks removed."""
        assert slug("`GET /api/v1/analytics/overview`") == "get-apiv1analyticsoverview"
        assert slug("Time windows and zones") == "time-windows-and-zones"
        assert slug("`compare`: previous_period, previous_year") == (
            "compare-previous_period-previous_year")

    def test_a_broken_link_is_reported(self, tmp_path: Path) -> None:
        """A missing file, a missing heading and a path outside the tree are each named;
        a good file, a good heading, a directory and a web URL pass."""
        root = tmp_path / "repo"
        (root / "docs").mkdir(parents=True)
        (root / "docs" / "api.md").write_text("# API\n\n## Time windows\n", encoding="utf-8")
        page = root / "README.md"
        page.write_text(
            "[ok](docs/api.md#time-windows) [dir](docs/) [web](https://example.com/x.md)\n"
            "[gone](docs/nope.md) [heading](docs/api.md#nope) [out](../outside.md)\n",
            encoding="utf-8")
        assert problems(page, root) == [
            "docs/nope.md: no such file",
            "docs/api.md#nope: no heading #nope in docs/api.md",
            "../outside.md: outside the repository",
        ]


def test_there_are_docs_to_check() -> None:
    """The README and the docs pages are among the files checked."""
    names = {p.relative_to(ROOT).as_posix() for p in FILES}
    assert "README.md" in names
    assert any(name.startswith("docs/") for name in names)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_of_the_repository(path: Path) -> None:
    """Each relative link (and image) of the page names an existing file or directory of
    the repository, and an `#anchor` names a heading of its Markdown target."""
    assert problems(path) == []
