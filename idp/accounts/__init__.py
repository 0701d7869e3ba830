"""Account services: plain values in, results out; each call commits at most once.

May import idp.models, idp.config (and idp.mail.outbox); never flask.request or authlib.
"""
