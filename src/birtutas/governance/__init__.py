"""Governance: the audit log now; consent, AI transparency notices, appeals and data-subject requests later.

The audit log is the one piece every domain writes to, so this module imports only `registry`.
"""
