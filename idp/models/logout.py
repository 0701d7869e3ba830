"""Back-channel logout notifications (OIDC Back-Channel Logout 1.0 §2.5), queued like mail.

A row is written in the same transaction that ends an OP session, one per client that took part
in it and registered a ``backchannel_logout_uri`` (idp/accounts/signout.py queues them); it is
delivered afterwards with retries (idp/oauth/backchannel.py). Imports sqlalchemy and idp.models
only.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp.models.base import Base
from idp.models.base import random_token
from idp.models.delivery import DeliveryColumns


class LogoutNotification(DeliveryColumns, Base):
    """One logout token to POST to one client for one ended session; retried until delivered.

    The token itself is signed at each attempt (its ``exp`` is short); ``jti`` stays the same
    so that a receiver can recognise a repeated delivery.
    """

    __tablename__ = "logout_notification"

    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_client.client_id", ondelete="CASCADE"))
    sid: Mapped[str] = mapped_column(String(64))
    sub: Mapped[str] = mapped_column(String(64))
    jti: Mapped[str] = mapped_column(String(64), unique=True, default=random_token)
