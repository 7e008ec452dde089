"""Credentials: attestats, diplomas and certificates as signed verifiable credentials.

Not built yet; it will use `registry`, `journal` (final grades) and `ledger`.
"""
