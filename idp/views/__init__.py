"""Blueprints: parse input → call a service → render or redirect; nothing else.

May import idp.accounts, idp.oauth (interaction, authorize, server in views/oauth.py), idp.forms
and idp.i18n.
"""

from typing import cast

from werkzeug.datastructures import MultiDict


def query_pairs(values: MultiDict[str, str]) -> list[tuple[str, str]]:
    """Every (name, value) pair in order, repeated names included (protocol checks need them)."""
    return cast("list[tuple[str, str]]", list(values.items(multi=True)))
