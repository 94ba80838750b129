"""Creators get paid (issue 12): payout accounts, payout requests, the provider transfers that
carry them out, monthly statements, and the daily reconciliation of provider statements with
the ledger.

By module: ``router`` (the API), ``service`` (accounts, requests, reads), ``idempotency``
(``Idempotency-Key``), ``sending`` (the transfer state machine the job runs), ``reconciliation``,
``statements`` (monthly CSV), ``rules`` (no I/O), ``jobs``. Money moves only through
``sharestack.ledger``; providers are reached through ``payments.providers.transfers``.
"""
