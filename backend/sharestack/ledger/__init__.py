"""The double-entry ledger of creators' money (issue 12).

Public interface, by module:

- ``earnings``: ``record_payment``, ``release_holds``, ``record_refund``
- ``payouts``: ``lock_payout_accounts``, ``request_payout``, ``settle_payout``, ``reverse_payout``
- ``posting``: ``post_journal``, ``lock_accounts``, ``reverse_journal`` (the one writer)
- ``service``: ``balances``, ``entries_page`` (display reads)
- ``reports``: ``creator_statement`` (monthly statements), ``provider_items`` and
  ``items_by_reference`` (reconciliation with the providers' statements)
- ``invariants``: ``check_invariants``; ``jobs``: ``release_ledger_holds``, ``check_ledger``
- ``rules``: account kinds, legs, the fee rounding rule and the negative-balance rule, no I/O

Every function takes the caller's session and flushes; the caller owns the transaction. Sign
convention and tables: ``models``.
"""
