"""WSGI entry point: granian or gunicorn "wsgi:app", flask --app wsgi."""

from idp import create_app

app = create_app()
