"""Registration pages (product §3.3–§3.7): e-mail → "check your mailbox" → customer data (from
the link) → login and password → "your account is created" → back to the app.

One blueprint, ``registration``, one module per step: ``email`` (the e-mail form and "check
your mailbox"), ``customer_data`` (the link's form), ``password`` (login, password and the
confirmation), and ``pages`` (what the steps share). Every page wears the cookie-notice gate.
Parse → call a service → respond; nothing else.
"""

from idp.views.registration import customer_data
from idp.views.registration import email
from idp.views.registration import password
from idp.views.registration.pages import bp

__all__ = ["bp", "customer_data", "email", "password"]
