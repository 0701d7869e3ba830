"""Outgoing mail: the outbox (enqueue inside the caller's transaction, deliver after),
rendering in the recipient's language, and transports (SMTP, development directory).

May import idp.models.outbox, idp.config and templates/mail (render only).
"""
