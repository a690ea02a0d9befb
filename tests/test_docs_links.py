"""The docs stand alone: every link and repository path they name exists in this repository,
and none points outside it (a clone has nothing beside it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
REPO_PATH = re.compile(r"`((?:src|tests|docs)/[^`\s]*)`")  # bench/ names generated folders
OUTSIDE = re.compile(r"\.\./shared|(?<![\w.])/work/|ARCHITECTURE\.md")


def _anchors(doc: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    for line in doc.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#+\s+(.*)", line)
        if m:
            words = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
            out.add(words.replace(" ", "-"))
    return out


def _problems(doc: Path, repo: Path = REPO) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    problems = []
    for n, line in enumerate(text.splitlines(), 1):
        where = f"{doc.relative_to(repo)}:{n}"
        if OUTSIDE.search(line):
            problems.append(f"{where}: points outside the repository: {line.strip()}")
        for target in LINK.findall(line):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            if not file.is_relative_to(repo) or not file.exists():
                problems.append(f"{where}: link to {target}: no such file in the repository")
            elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
                problems.append(f"{where}: link to {target}: no such heading in {path or doc}")
        for path in REPO_PATH.findall(line):
            path = path.split("#")[0].rstrip(".,:;")
            if "*" in path or "…" in path:
                continue
            if not (repo / path).exists():
                problems.append(f"{where}: `{path}` does not exist in the repository")
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(REPO)) for d in DOCS])
def test_a_doc_names_only_what_the_repository_has(doc: Path) -> None:
    assert _problems(doc) == []


def test_the_check_catches_a_dangling_link_and_an_outside_pointer(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "serving.md").write_text("# Serving\n\n## Prediction log\n")
    doc = tmp_path / "docs" / "probe.md"
    doc.write_text(
        "see [x](missing.md), [y](serving.md#no-such-heading), [z](serving.md#prediction-log)\n"
        "the suite is `tests/nope.py`, the page `docs/serving.md`; see ../shared/ARCHITECTURE.md\n"
    )
    found = _problems(doc, tmp_path)
    assert [p.split(": ", 1)[1][:12] for p in found] == [
        "link to miss",
        "link to serv",
        "points outsi",
        "`tests/nope.",
    ], found
