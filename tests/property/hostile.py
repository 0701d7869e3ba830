"""Hostile values for the property and fuzz tests, and the check that a page does not carry
them back unescaped."""

from __future__ import annotations

from hypothesis import strategies as st

HUGE = "A" * 100_000
# Strings attackers paste into every field: markup, script URLs, SQL, template and path
# injection, header splitting, Unicode tricks, digits that are not ASCII.
INJECTIONS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "javascript:alert(1)",
    "' OR '1'='1' --",
    "'; DROP TABLE account; --",
    "{{7*7}}{% raw %}",
    "${7*7}#{7*7}",
    "../../../../etc/passwd",
    "%00%0d%0aSet-Cookie:%20injected=1",
    "\r\nSet-Cookie: injected=1",
    "\u202egnp.exe",
    "\ufeff\u200b\u00ad",
    "٢٠٠٠٠٠٠٠١٨",
    "２０００００００１８",
    "😀" * 300,
    "a\x00b",
    "\x00",
    "%ff%fe%c0%af",
    "",
    " ",
    HUGE,
]
MARKUP = st.from_regex(r"<[a-z]{4,8} on[a-z]{4,8}=x[0-9]{4}>", fullmatch=True)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=200)
HOSTILE = st.one_of(st.sampled_from(INJECTIONS), MARKUP, TEXT)
# Hostile but past the first guards (NUL refused whole, bodies over 64 KiB refused): for
# filling every field of a form, so that the views' own checks meet the values.
DEEP = st.one_of(
    st.sampled_from([v for v in INJECTIONS if "\x00" not in v and v is not HUGE]),
    MARKUP,
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=200),
)


def reflected_raw(body: str, value: str) -> bool:
    """True when ``value``, which holds markup, appears in ``body`` unescaped.

    Short or mostly blank values are skipped: ``<`` alone, or a few spaces before one, are in
    every page by nature.
    """
    typed = value[:1024].strip()
    if not ("<" in typed or '"' in typed) or sum(c.isalnum() for c in typed) < 4:
        return False
    return len(typed) >= 8 and typed in body
