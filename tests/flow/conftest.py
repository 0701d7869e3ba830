"""Fixtures of the protocol flow tests beyond the suite's own (tests/conftest.py)."""

from __future__ import annotations

import pytest
from joserfc.jwk import ECKey


@pytest.fixture(scope="module")
def key():
    """A client's DPoP key (RFC 9449), P-256."""
    return ECKey.generate_key("P-256", private=True)


@pytest.fixture(scope="module")
def other_key():
    """Another party's DPoP key: a stolen token or code presented with it must fail."""
    return ECKey.generate_key("P-256", private=True)
