"""The product rules the code follows are written down (docs/product.md), and every
``product §N`` citation in code, tests and templates names one of its sections."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ROOT / "docs" / "product.md"
CITED_IN = ("idp", "clients", "tests", "templates", "bench")
CITATION = re.compile(r"product (§[0-9][0-9.]*(?:[–/]§?[0-9][0-9.]*)*)")


def sections() -> set[str]:
    """The section numbers docs/product.md has (``## §3`` → ``3``, ``### §3.5`` → ``3.5``)."""
    return set(re.findall(r"^#{2,3} §([0-9.]+) ", PRODUCT.read_text(), flags=re.M))


def citations() -> list[tuple[str, str]]:
    """(file, section) for every section a ``product §…`` citation names."""
    found = []
    for folder in CITED_IN:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in (".py", ".html", ".txt", ".js") or "node_modules" in path.parts:
                continue
            for match in CITATION.finditer(path.read_text(encoding="utf-8")):
                for number in re.findall(r"[0-9][0-9.]*", match.group(1)):
                    found.append((str(path.relative_to(ROOT)), number.rstrip(".")))
    return found


def test_product_rules_have_their_sections():
    assert {"1", "2", "3", "3.1", "3.5", "3.9", "4", "5", "6", "7"} <= sections()


def test_the_code_cites_the_product_rules():
    assert len(citations()) > 50  # the checker finds them (the code cited ~95 before)


@pytest.mark.parametrize("folder", CITED_IN)
def test_every_citation_names_a_section(folder):
    missing = [
        f"{path}: §{number}"
        for path, number in citations()
        if path.startswith(folder + "/") and number not in sections()
    ]
    assert missing == []


def test_no_citation_of_a_document_the_repository_does_not_have():
    """ "SPEC §…" named a file outside the repository; cite product §N or the RFC instead."""
    stale = [
        str(path.relative_to(ROOT))
        for folder in CITED_IN
        for path in (ROOT / folder).rglob("*.py")
        if "SPEC §" in path.read_text(encoding="utf-8") and path.name != "test_product_rules.py"
    ]
    assert stale == []
