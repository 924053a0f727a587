"""The documentation a user reads: a short README and one page per topic in docs/, every link between them whole."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO

PAGES = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").glob("*.md"))]
README_MOST_LINES = 250
FENCE = re.compile(r"^(```|~~~)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
INLINE_CODE = re.compile(r"`[^`\n]*`")


def prose_lines(path: Path) -> list[str]:
    """The page's lines outside fenced code blocks (where `#` is a shell comment and `[x](y)` is code)."""
    lines, fenced = [], False
    for line in path.read_text().splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchor_of(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (but hyphens, underscores), spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())  # a link in a heading anchors by its text
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found, seen = set(), {}
    for line in prose_lines(path):
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            base = anchor_of(heading.group(1))
            count = seen.get(base, 0)
            found.add(base if count == 0 else f"{base}-{count}")  # GitHub numbers repeated headings
            seen[base] = count + 1
    return found


def relative_links(path: Path) -> list[str]:
    return [target for line in prose_lines(path) for target in LINK.findall(INLINE_CODE.sub("", line))
            if not re.match(r"[a-z][a-z0-9+.-]*:", target)]  # http:, https:, mailto: lead elsewhere


def test_the_readme_is_a_short_guide_and_the_reference_is_in_docs():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) < README_MOST_LINES, f"README.md has {len(lines)} lines: move reference material to docs/"
    linked = {Path(target.split("#")[0]).name for target in relative_links(REPO / "README.md")}
    pages = {path.name for path in (REPO / "docs").glob("*.md")}
    assert pages <= linked, f"docs pages the README does not link to: {sorted(pages - linked)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(REPO)))
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page):
    broken = []
    for target in relative_links(page):
        file_part, _, anchor = target.partition("#")
        destination = (page.parent / file_part).resolve() if file_part else page
        if not destination.is_relative_to(REPO):
            broken.append(f"{target}: outside the repository")
        elif not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading with anchor #{anchor} in {destination.relative_to(REPO)}")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_no_page_a_user_reads_points_to_the_developers_shared_folder():
    for page in PAGES:
        assert "../shared" not in page.read_text() and "shared/media" not in page.read_text(), page


def test_headings_anchor_as_github_makes_them():
    assert anchor_of("Live: `livecap run`") == "live-livecap-run"
    assert anchor_of("Machine, versions and media") == "machine-versions-and-media"
    assert anchor_of("Set-up") == "set-up"
