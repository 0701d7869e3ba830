"""The translation catalogues as tests use them: where they are, and compiling them (the .mo files
are git-ignored, so tests compile them on a fresh clone)."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from idp.i18n import LANGUAGES

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "idp" / "translations"


def po_path(lang: str) -> Path:
    """The catalogue of a language."""
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def read_catalogue(path: Path, lang: str | None = None) -> Catalog:
    """A .po file, parsed."""
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def compile_catalogues() -> None:
    """Write each .mo next to its .po (atomically, only when its content changes)."""
    for lang in LANGUAGES:
        catalog = read_catalogue(po_path(lang), lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        target = po_path(lang).with_suffix(".mo")
        if target.exists() and target.read_bytes() == buffer.getvalue():
            continue
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".messages-", suffix=".mo")
        with os.fdopen(fd, "wb") as f:
            f.write(buffer.getvalue())
        os.replace(tmp, target)
