"""Keyed hashes of activation codes: HMAC-SHA256 under a secret kept outside the database.

A stored hash reads ``hmac-sha256$<kid>$<hex>``: the kid names the key in ``keys/activation/``,
so hashes made before a key rotation still verify, and the next customer import re-keys them.
The customer number is part of the hashed message, so two customers with one code do not share
a hash. Hashes from before this scheme (argon2id PHC strings) still verify during the
transition; the next import replaces them (docs/security.md, "Activation codes").

Imports idp.activation_keys, idp.accounts.passwords and idp.config.
"""

from __future__ import annotations

import hashlib
import hmac

from idp.accounts.passwords import verify_password
from idp.activation_keys import ActivationKeyring
from idp.config import Settings

SCHEME = "hmac-sha256"
_DOMAIN = b"idp activation code v1\x00"
_NO_KEY = bytes(32)


def code_digest(secret: bytes, customer_number: str, code: str) -> str:
    """HMAC-SHA256 of the customer number and the code, hex."""
    message = _DOMAIN + customer_number.encode("ascii") + b"\x00" + code.encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def hash_code(keyring: ActivationKeyring, customer_number: str, code: str) -> str:
    """The stored form of a code under the current key."""
    kid, secret = keyring.current()
    return f"{SCHEME}${kid}${code_digest(secret, customer_number, code)}"


def key_id(stored: str) -> str | None:
    """The kid a keyed hash names; None for any other stored form (legacy argon2id)."""
    scheme, _, rest = stored.partition("$")
    kid, _, digest = rest.partition("$")
    return kid if scheme == SCHEME and kid and digest else None


def is_legacy(stored: str) -> bool:
    """True for an argon2id hash made before keyed hashes."""
    return stored.startswith("$argon2")


def code_matches(
    keyring: ActivationKeyring, stored: str, customer_number: str, code: str, settings: Settings
) -> bool:
    """True when ``code`` is the customer's code; the comparison takes constant time.

    Only ASCII digits can match (the format check comes first), so a non-ASCII guess is
    compared against nothing rather than raising.
    """
    if not (code.isascii() and customer_number.isascii()):
        spend_equal_time(keyring, "2000000000", "0000000000")
        return False
    if is_legacy(stored):
        return verify_password(stored, code, settings)
    kid = key_id(stored)
    secret = keyring.secrets.get(kid) if kid else None
    expected = code_digest(secret or _NO_KEY, customer_number, code)
    return secret is not None and hmac.compare_digest(expected, stored.rsplit("$", 1)[1])


def spend_equal_time(keyring: ActivationKeyring, customer_number: str, code: str) -> None:
    """Do the work of one check when there is no hash to check (unknown number, locked code)."""
    secret = keyring.secrets.get(keyring.current_kid or "", _NO_KEY)
    number = customer_number if customer_number.isascii() else "2000000000"
    digits = code if code.isascii() else "0000000000"
    hmac.compare_digest(code_digest(secret, number, digits), "0" * 64)
