"""WSGI entry point: gunicorn "wsgi:app", flask --app wsgi."""

from idp import create_app

app = create_app()
