"""Ledger: the append-only transparency log (RFC 9162) that anchors credentials. Not built yet."""
