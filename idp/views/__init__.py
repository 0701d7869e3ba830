"""Blueprints: parse input → call a service → render or redirect; nothing else.

May import idp.accounts, idp.oauth (interaction, authorize, server in views/oauth.py), idp.forms
and idp.i18n.
"""
