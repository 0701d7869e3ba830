"""Every model module, imported so that metadata (create_all, Alembic) sees them all."""

from idp.models.account import Account
from idp.models.account import AccountCustomer
from idp.models.base import Base
from idp.models.billing import BillingEvent
from idp.models.billing import BillingLink
from idp.models.customer import Contract
from idp.models.customer import Customer
from idp.models.interaction import Interaction
from idp.models.logout import LogoutNotification
from idp.models.oauth import AuthorizationCode
from idp.models.oauth import Client
from idp.models.oauth import Token
from idp.models.op_session import OpSession
from idp.models.op_session import SessionClient
from idp.models.outbox import OutboxMail
from idp.models.pushed_request import PushedRequest
from idp.models.registration import PasswordReset
from idp.models.registration import RegistrationRequest

__all__ = [
    "Account",
    "AccountCustomer",
    "AuthorizationCode",
    "Base",
    "BillingEvent",
    "BillingLink",
    "Client",
    "Contract",
    "Customer",
    "Interaction",
    "LogoutNotification",
    "OpSession",
    "OutboxMail",
    "PasswordReset",
    "PushedRequest",
    "RegistrationRequest",
    "SessionClient",
    "Token",
]
