"""Server-side state of the customer space: local login sessions (found again by the
provider's ``sid``/``sub`` when a back-channel logout arrives) and a small expiring key/value
cache (pending logins for Authlib, logout token ids already seen). In memory: one process.
Several workers would need a shared store (SQLite, Redis) behind the same two classes.
Standard library only."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any

SESSION_TTL = 8 * 3600


@dataclass
class LocalSession:
    """Who is logged in here, from a validated ID token."""

    id: str
    claims: dict[str, Any]
    id_token: str
    csrf_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    created_at: float = field(default_factory=time.time)

    @property
    def sub(self) -> str:
        """The provider's subject identifier."""
        return str(self.claims["sub"])

    @property
    def sid(self) -> str | None:
        """The provider's session id (OIDC Back-Channel Logout 1.0 §2.1), if it sent one."""
        return self.claims.get("sid")


class SessionStore:
    """Local sessions by their random id (the only thing the browser's cookie holds)."""

    def __init__(self, ttl: float = SESSION_TTL):
        self.ttl = ttl
        self._lock = threading.Lock()
        self._sessions: dict[str, LocalSession] = {}

    def create(self, claims: dict[str, Any], id_token: str) -> LocalSession:
        """A new session for validated ID token ``claims``."""
        local = LocalSession(secrets.token_urlsafe(32), dict(claims), id_token)
        with self._lock:
            self._sessions[local.id] = local
        return local

    def get(self, session_id: str | None) -> LocalSession | None:
        """The live session with this id, else None."""
        with self._lock:
            local = self._sessions.get(session_id or "")
            if local is not None and time.time() - local.created_at > self.ttl:
                del self._sessions[local.id]
                return None
            return local

    def end(self, session_id: str | None) -> None:
        """End one session (local logout)."""
        with self._lock:
            self._sessions.pop(session_id or "", None)

    def end_matching(self, sid: str | None, sub: str | None) -> int:
        """Back-Channel Logout 1.0 §2.7: with a ``sid``, the sessions of that provider session;
        with only a ``sub``, every session of that subject. Returns how many ended."""
        with self._lock:
            ended = [
                key
                for key, local in self._sessions.items()
                if (sid is None or local.sid == sid) and (sub is None or local.sub == sub)
            ]
            for key in ended:
                del self._sessions[key]
        return len(ended)


class ExpiringCache:
    """``get``/``set``/``delete`` with a lifetime: the cache interface Authlib's client uses
    to keep a pending login (state, nonce, PKCE verifier) on the server, not in the cookie."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any:
        """The value, or None when absent or expired."""
        with self._lock:
            expires, value = self._items.get(key, (0.0, None))
            if expires < time.time():
                self._items.pop(key, None)
                return None
            return value

    def set(self, key: str, value: Any, expires_in: float) -> None:
        """Store ``value`` for ``expires_in`` seconds (expired entries are dropped on the way)."""
        now = time.time()
        with self._lock:
            for stale in [k for k, (exp, _) in self._items.items() if exp < now]:
                del self._items[stale]
            self._items[key] = (now + expires_in, value)

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._items.pop(key, None)
