"""Named override sets for create_app (the django-oauth-toolkit presets habit), and the one
place tests take secrets from: the test secret key, the demo password and the development
client secret are read from here (or from the code that defines them), never copied."""

from idp.config import development_client_secret
from idp.seed import DEMO_PASSWORD

BASE = {
    "env": "development",
    "secret_key": "test-secret-key-0123456789abcdef0123456789",
    "issuer": "http://localhost",
    "ratelimit_storage_url": "memory://",
    "login_rate_limit": "1000/minute",
    # Cheap argon2 in tests; the production cost is covered by tests/unit/test_passwords.py.
    "argon2_time_cost": 1,
    "argon2_memory_cost": 1024,
}

STRICT_LOGIN_LIMIT = {"login_rate_limit": "3/minute"}
SHORT_CODES = {"authorization_code_ttl": 1}

SECRET_KEY = BASE["secret_key"]
CUSTOMER_SPACE_SECRET = development_client_secret("customer-space")
__all__ = [
    "BASE",
    "CUSTOMER_SPACE_SECRET",
    "DEMO_PASSWORD",
    "SECRET_KEY",
    "SHORT_CODES",
    "STRICT_LOGIN_LIMIT",
]
