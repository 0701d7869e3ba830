"""Protocol wiring: the only package that imports authlib.oauth2 / authlib.oidc.

May import idp.models, idp.accounts.eligibility, idp.accounts.login (lookup only), idp.keys and
idp.config. It never renders a login page: it hands over through ``interaction``.
"""
