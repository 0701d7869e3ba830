"""The transaction rule of idp/accounts/__init__, as code: ``ends_transaction`` turns a
building block (part of the caller's transaction) into a service that ends it.

Imports idp.models.base only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate
from typing import ParamSpec
from typing import TypeVar

from idp.models.base import DbSession

P = ParamSpec("P")
R = TypeVar("R")


def ends_transaction(
    block: Callable[Concatenate[DbSession, P], R],
) -> Callable[Concatenate[DbSession, P], R]:
    """The block, committed when it returns and rolled back when it raises (a ``Refused`` or
    anything else): nothing half-written stays in the session."""

    @wraps(block)
    def service(session: DbSession, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = block(session, *args, **kwargs)
        except BaseException:
            session.rollback()
            raise
        session.commit()
        return result

    return service
