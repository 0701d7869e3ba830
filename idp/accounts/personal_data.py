"""A customer's personal data on the account page (GDPR): access — everything the provider
keeps about the account, as JSON (art. 15, 20) — and erasure (art. 17).

Each service that writes commits once (its mail in that commit). Imports idp.models,
idp.accounts, idp.mail.outbox and idp.config; never flask.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy import func

from idp.accounts.self_service import active_account
from idp.accounts.signed_in import signed_in
from idp.accounts.signout import end_account_sessions
from idp.config import Settings
from idp.mail.links import absolute
from idp.mail.outbox import enqueue
from idp.models.account import Account
from idp.models.base import DbSession
from idp.models.base import utcnow
from idp.models.registration import RegistrationRequest


def _stamp(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_data(session: DbSession, account_id: int, settings: Settings) -> dict[str, Any]:
    """Everything the provider keeps about the account, as JSON-ready data (read)."""
    account = active_account(session, account_id)
    return {
        "account": {
            "sub": account.sub,
            "login": account.login,
            "email": account.email,
            "email_verified": account.email_verified,
            "language": account.language,
            "status": account.status,
            "created_at": _stamp(account.created_at),
            "last_login_at": _stamp(account.last_login_at),
        },
        "customers": [
            {
                "number": customer.number,
                "holder_name": customer.holder_name,
                "language": customer.language,
                "contracts": [
                    {
                        "id": c.id,
                        "energy": c.energy,
                        "status": c.status,
                        "start_date": _stamp(c.start_date),
                        "end_date": _stamp(c.end_date),
                    }
                    for c in customer.contracts
                ],
            }
            for customer in account.customers
        ],
        "signed_in": [
            {
                "kind": line.kind,
                "clients": list(line.clients),
                "device": line.device_hint,
                "since": _stamp(line.since),
                "last_used": _stamp(line.last_used),
            }
            for line in signed_in(session, account.id, None)
        ],
        "exported_at": _stamp(utcnow()),
        "issuer": settings.issuer,
    }


def delete_account(session: DbSession, account_id: int, settings: Settings) -> str:
    """Erase the account: its sessions end (clients told by back-channel), its tokens are
    revoked then erased with it, its customers stay (billing keeps them) but are unlinked —
    their used activation code stays void — and a last mail confirms it to the address.
    Returns the address. Commits."""
    address = erase_account(session, active_account(session, account_id), settings)
    session.commit()
    return address


def erase_account(session: DbSession, account: Account, settings: Settings) -> str:
    """What ``delete_account`` does, for any account (operators delete disabled ones too);
    returns the address. The caller commits."""
    address, language, login = account.email, account.language, account.login
    end_account_sessions(session, account.id)
    # Unlinked and no longer "activated": a new code from billing can link it again.
    for customer in account.customers:
        customer.activated_at = None
        customer.activation_code_hash = None  # the used code stays void
    account.customers.clear()
    session.execute(
        delete(RegistrationRequest).where(
            func.lower(RegistrationRequest.email) == address.casefold()
        )
    )
    session.flush()
    session.delete(account)
    enqueue(
        session,
        to=address,
        template="account_deleted",
        language=language,
        context={"login": login, "register_link": absolute(settings, "/register")},
    )
    return address
