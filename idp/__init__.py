"""The customer-space OpenID Connect provider."""

from idp.app import create_app

__all__ = ["create_app"]
