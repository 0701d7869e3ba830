"""The Smart App's state machine (product §6): terms → welcome (log in / create an account) →
eligibility → home | error screen with the chat contact. No HTTP server and no pages here: the
screens (``screens.py``) and the headless login (``__main__.py``) drive it.
Imports ``oidc``, ``storage`` and ``texts`` of this package, nothing of the provider."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from requests.adapters import BaseAdapter

from clients.smart_app.oidc import LoginError
from clients.smart_app.oidc import NetworkError
from clients.smart_app.oidc import PendingLogin
from clients.smart_app.oidc import Provider
from clients.smart_app.oidc import TokenRefused
from clients.smart_app.storage import LocalState
from clients.smart_app.texts import DEFAULT_LANGUAGE
from clients.smart_app.texts import LANGUAGES
from clients.smart_app.texts import TERMS_VERSION

MAX_PENDING = 4  # logins started and not yet called back (tapped twice, a tab left open)


@dataclass(frozen=True)
class Refusal:
    """Why the last login was turned away (the product §4 ``reason``, None when unknown)."""

    reason: str | None


class SmartApp:
    """One device, one user: the local state, the provider, and who is logged in."""

    def __init__(
        self,
        issuer: str,
        state: LocalState,
        adapter: BaseAdapter | None = None,
        terms_version: str = TERMS_VERSION,
    ):
        self.issuer = issuer.rstrip("/")
        self.state = state
        self.adapter = adapter  # a requests transport for the provider's URLs (tests)
        self.terms_version = terms_version
        self.customer: dict[str, Any] | None = None  # ID token claims while logged in
        self.id_token: str | None = None  # the id_token_hint of the logout
        self.refusal: Refusal | None = None
        self.notice: str | None = None  # one message for the welcome screen (texts "notice_*")
        self._provider: Provider | None = None
        self._pending: dict[str, PendingLogin] = {}
        self._logout_state: str | None = None

    @property
    def provider(self) -> Provider:
        """Discovery and JWKS, fetched at first use (the app starts without network)."""
        if self._provider is None:
            try:
                self._provider = Provider(self.issuer, self.adapter)
            except (KeyError, ValueError) as exc:
                raise LoginError(f"unusable discovery document: {exc}") from None
        return self._provider

    @property
    def language(self) -> str:
        """The app's language: the user's choice, French by default."""
        chosen = self.state.get("language")
        return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE

    def set_language(self, language: str) -> None:
        """Remember the user's language choice (ignored when not offered)."""
        if language in LANGUAGES:
            self.state.update(language=language)

    def terms_accepted(self) -> bool:
        """Whether this version of the terms was accepted on this device (asked once each)."""
        return self.state.get("terms_version") == self.terms_version

    def accept_terms(self) -> None:
        """Record the acceptance of the current terms."""
        self.state.update(terms_version=self.terms_version, terms_accepted_at=int(time.time()))

    def screen(self) -> str:
        """The screen to show now: ``terms``, ``home``, ``ineligible`` or ``welcome``."""
        if not self.terms_accepted():
            return "terms"
        if self.customer is not None:
            return "home"
        if self.refusal is not None:
            return "ineligible"
        return "welcome"

    def take_notice(self) -> str | None:
        """The pending message for the welcome screen, shown once."""
        notice, self.notice = self.notice, None
        return notice

    # ---- session -----------------------------------------------------------------------

    def start(self) -> None:
        """Refresh on start: resume the session kept in the local state, if there is one."""
        refresh_token = self.state.get("refresh_token")
        if not refresh_token:
            return
        if self.state.get("issuer") != self.issuer:  # a token of another provider is useless
            self._forget_session()
            return
        try:
            tokens = self.provider.refresh(refresh_token, self.state.get("dpop_key"))
        except TokenRefused:
            self._forget_session()
            self.notice = "session_ended"
            return
        except (NetworkError, LoginError):
            self.notice = "offline"  # keep the token: the provider may answer next time
            return
        self._adopt_refresh(tokens)

    def _adopt_refresh(self, tokens: dict[str, Any]) -> None:
        """Store the rotated refresh token, then check the new ID token and eligibility."""
        new_token = tokens.get("refresh_token")
        if new_token:  # stored before anything else: rotation killed the previous one
            self.state.update(refresh_token=new_token)
        try:
            claims = self.provider.validate_id_token(tokens, nonce=None)
            if claims["sub"] != self.state.get("sub"):  # OIDC Core §12.2: same subject
                raise LoginError("refreshed ID token for another subject")
        except LoginError:
            self._end_session(new_token)
            self.notice = "session_ended"
            return
        self._decide(tokens, claims, self.state.get("dpop_key"))

    def begin_login(
        self, redirect_uri: str, login_hint: str | None = None, create: bool = False
    ) -> str:
        """A new authorization request (PKCE S256, state, nonce); the URL to open."""
        pending = PendingLogin(redirect_uri)
        self._pending[pending.state] = pending
        for stale in list(self._pending)[:-MAX_PENDING]:
            del self._pending[stale]
        # OIDC Prompt Create 1.0 §4: only when the provider advertises it; otherwise the
        # login page's "No account yet?" link leads there.
        prompt = "create" if create and self.provider.supports_prompt("create") else None
        return self.provider.authorization_url(
            pending, ui_locales=self.language, login_hint=login_hint, prompt=prompt
        )

    def finish_login(self, callback: dict[str, str]) -> None:
        """Redeem the callback; then ``screen()`` says home or ineligible. Raises LoginError
        (or NetworkError) when the login failed; LoginCancelled when the customer turned
        back at the provider (the welcome screen shows again)."""
        pending = self._pending.pop(callback.get("state", ""), None)
        if pending is None:
            raise LoginError("unknown or already used state")
        tokens = self.provider.redeem(pending, callback)
        previous = self.state.get("refresh_token")
        if previous and previous != tokens.get("refresh_token"):
            self.provider.revoke(previous)  # whoever was logged in before is logged out
            self._forget_session()
        self._decide(tokens, tokens["claims"], pending.dpop_key)

    def _decide(
        self, tokens: dict[str, Any], claims: dict[str, Any], dpop_key: dict[str, Any] | None
    ) -> None:
        """product §4: eligible → keep the session (with the DPoP key its refresh token is
        bound to, RFC 9449 §5); otherwise no session at all."""
        eligibility = claims.get("eligibility")
        if not isinstance(eligibility, dict) or eligibility.get("eligible") is not True:
            self._end_session(tokens.get("refresh_token"), tokens.get("access_token"))
            reason = eligibility.get("reason") if isinstance(eligibility, dict) else None
            self.refusal = Refusal(reason)
            return
        if tokens.get("refresh_token"):
            self.state.update(
                refresh_token=tokens["refresh_token"],
                issuer=self.issuer,
                sub=claims["sub"],
                dpop_key=dpop_key,
            )
        self.customer, self.id_token, self.refusal = claims, tokens["id_token"], None

    def _end_session(self, refresh_token: str | None, access_token: str | None = None) -> None:
        """Revoke what the provider issued (RFC 7009) and keep nothing locally."""
        if refresh_token:
            self.provider.revoke(refresh_token, "refresh_token")
        elif access_token:
            self.provider.revoke(access_token, "access_token")
        self._forget_session()

    def _forget_session(self) -> None:
        self.state.update(refresh_token=None, issuer=None, sub=None, dpop_key=None)
        self.customer = self.id_token = None

    def logout(self, post_logout_redirect_uri: str) -> str | None:
        """Revoke the refresh token, forget the session; the provider's end-session URL to
        send the browser to (OIDC RP-Initiated Logout 1.0), or None when it has none."""
        id_token = self.id_token
        self._end_session(self.state.get("refresh_token"))
        self._logout_state = secrets.token_urlsafe(16)
        url = self.provider.end_session_url(
            id_token, post_logout_redirect_uri, self._logout_state, self.language
        )
        if url is None:
            self.notice = "logged_out"
        return url

    def finish_logout(self, state: str | None) -> None:
        """Back from the provider's logout: say so when it is the logout we started."""
        if state and state == self._logout_state:
            self._logout_state = None
            self.notice = "logged_out"

    def accepts_initiation(self, iss: str | None) -> bool:
        """OIDC Core §4: a third-party-initiated login must name our issuer."""
        return iss == self.issuer
