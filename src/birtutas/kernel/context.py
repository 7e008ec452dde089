"""The acting context: who makes a change, through which channel, and whether a service is writing.

Services record `Acting` in every audit row. The channel (`Via`) is set once where a request or a
command enters the system (the web middleware, the API's authentication, the import, a command)
and read wherever an audit row is written, so no service has to thread it through by hand.
`writing()` marks the extent of a service's write: the suite fails a write of a guarded table
made outside one (see `guard_writes`).
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from dataclasses import dataclass

from django.db import models, transaction
from django.utils.translation import gettext_lazy as _


class Via(models.TextChoices):
    WEB = "web", _("web page")
    API = "api", _("API")
    IMPORT = "import", _("import")
    COMMAND = "command", _("command")
    SYNC = "sync", _("sync")


_via: contextvars.ContextVar[str] = contextvars.ContextVar("birtutas_via", default=Via.COMMAND)
_service_depth: contextvars.ContextVar[int] = contextvars.ContextVar("birtutas_service_depth", default=0)


@dataclass(frozen=True)
class Acting:
    """Who acts (an account and its person, none for the system itself), through what, and why."""

    user_id: int | None
    person_id: int | None = None
    via: str = Via.COMMAND
    reason: str = ""

    @classmethod
    def of(cls, user, reason: str = "") -> Acting:
        """The acting context of an account (or of the system, for None) on the current channel."""
        if user is None or not getattr(user, "is_authenticated", False):
            return cls(user_id=None, via=current_via(), reason=reason)
        return cls(user_id=user.pk, person_id=user.person_id, via=current_via(), reason=reason)


def current_via() -> str:
    return _via.get()


@contextlib.contextmanager
def acting_via(via: str):
    token = _via.set(via)
    try:
        yield
    finally:
        _via.reset(token)


@contextlib.contextmanager
def writing():
    """The extent of one service's write: a transaction inside which guarded tables may change."""
    token = _service_depth.set(_service_depth.get() + 1)
    try:
        with transaction.atomic():
            yield
    finally:
        _service_depth.reset(token)


def service(func):
    """Decorate a service function: it runs in a transaction and may write guarded tables."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with writing():
            return func(*args, **kwargs)

    return wrapper


def in_service() -> bool:
    return _service_depth.get() > 0


_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


class WriteOutsideService(AssertionError):
    pass


def guard_writes(tables: set[str]):
    """A database execute-wrapper that refuses a write to any of `tables` made outside a service."""

    def wrapper(execute, sql, params, many, context):
        match = _WRITE.match(sql) if isinstance(sql, str) else None
        if match and match.group(1) in tables and not in_service():
            raise WriteOutsideService(f"{match.group(1)} written outside a service: {sql[:120]}")
        return execute(sql, params, many, context)

    return wrapper


# The apps whose every table holds records the audit must account for.
GUARDED_APPS = ("registry", "curriculum", "journal")
# Django's own permission tables, unused by the platform.
UNGUARDED_TABLES = frozenset({"registry_user_groups", "registry_user_user_permissions"})


def guarded_tables() -> set[str]:
    from django.apps import apps

    tables = set()
    for label in GUARDED_APPS:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        for model in config.get_models(include_auto_created=True):
            tables.add(model._meta.db_table)
    return tables - UNGUARDED_TABLES
