"""docs/security.md maps each control to the test that proves it: every test it names must
exist, so the map cannot drift from the suite (a renamed or deleted test fails here)."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"
# ``tests/flow/test_x.py::test_name`` (a parametrised id in brackets is allowed and ignored)
REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(\w+)(?:\[[^\]]*\])?")
ATTACKERS = (
    "credential stuffer",
    "code sprayer",
    "phishing relying party",
    "stolen phone",
    "mail scanner",
    "insider with database read",
)


@cache
def defined_tests(path: Path) -> frozenset[str]:
    """Names of the test functions a module defines (module level and in classes)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    )


def references(text: str) -> list[tuple[str, str]]:
    """Every ``file::test`` the text names, in order."""
    return [(m[1], m[2]) for m in REFERENCE.finditer(text)]


def test_every_test_named_in_the_security_doc_exists():
    text = DOC.read_text(encoding="utf-8")
    named = references(text)
    assert len(named) >= 40, "the control map names too few tests to prove anything"
    missing = [
        f"{file}::{name}"
        for file, name in named
        if not (ROOT / file).is_file() or name not in defined_tests(ROOT / file)
    ]
    assert missing == []


def test_the_security_doc_has_the_threat_model_parts():
    """Assets, the six attackers of issue #8, the control map and the remaining gaps."""
    text = DOC.read_text(encoding="utf-8")
    headings = [
        line.lstrip("#").strip().lower() for line in text.splitlines() if line.startswith("## ")
    ]
    for part in ("assets", "attackers", "controls", "gaps"):
        assert any(h.startswith(part) for h in headings), (part, headings)
    lowered = text.lower()
    assert [a for a in ATTACKERS if a not in lowered] == []


def test_the_reference_checker_sees_a_missing_test(tmp_path):
    """The checker itself: a named test that does not exist is reported."""
    module = tmp_path / "tests" / "unit" / "test_sample.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "def test_here():\n    pass\n\nclass TestX:\n    def test_in_class(self):\n        pass\n"
    )
    assert defined_tests(module) == {"test_here", "test_in_class"}
    text = (
        "see tests/unit/test_sample.py::test_here[sqlite] and tests/unit/test_sample.py::test_gone"
    )
    assert references(text) == [
        ("tests/unit/test_sample.py", "test_here"),
        ("tests/unit/test_sample.py", "test_gone"),
    ]
