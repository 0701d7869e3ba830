"""Account services: plain values in, results out; refusals raised as ``Refused``.

May import idp.models, idp.config, idp.mail (outbox, links) and idp.accounts; never flask,
never authlib.

**Transactions: the service ends the transaction it was called in.**

- A public service that writes commits once before it returns; the mails it queues
  (``idp.mail.outbox.enqueue`` only adds rows) go into that same commit.
- A service that refuses raises ``Refused`` after ending the transaction: a rollback, or a
  commit when the refusal itself must be kept (a counted activation attempt, a used link, the
  owner's alert mail).
- Building blocks that other services compose, and that ``idp.oauth`` calls inside the
  protocol's own transaction, say "part of the caller's transaction" in their docstring:
  they add and flush, never commit or roll back (``verify_activation``, ``add_account``,
  ``end_sessions``, ``end_account_sessions``).
- Reads (``find_*``, ``open_*``) leave the transaction as they found it.
- Views and commands never commit or roll back around an accounts call.
- ``idp.accounts.transactions.ends_transaction`` writes the rule once: a service whose whole
  body is one unit of work wears it instead of its own commit and rollback.

**Refusals: one shape.** Every "no" is ``idp.accounts.refusals.Refused`` carrying a
``Refusal`` member (and, where the page needs them, the password policy's reasons or the uses
a link has left). No ``None`` for "refused", no step enums, no string reasons.
"""
