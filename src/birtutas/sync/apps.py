from django.apps import AppConfig
from django.core import checks


class SyncConfig(AppConfig):
    name = "birtutas.sync"
    label = "sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        checks.register(capture_triggers_installed, checks.Tags.database)


def capture_triggers_installed(app_configs=None, databases=None, **kwargs):
    """sync.E001: a travelling table without its capture trigger would lose changes silently.

    A migration that rebuilds a table on SQLite drops its triggers with it (see sync.triggers).
    """
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    from .kinds import KINDS
    from .triggers import installed

    errors = []
    for alias in databases or []:
        connection = connections[alias]
        if MigrationExecutor(connection).migration_plan(MigrationExecutor(connection).loader.graph.leaf_nodes()):
            continue  # not migrated yet: `migrate` installs them
        missing = sorted({k.table for k in KINDS} - installed(connection))
        if missing:
            errors.append(
                checks.Error(
                    f"capture triggers missing on {', '.join(missing)}",
                    hint="re-install them with sync.triggers.install in a migration",
                    id="sync.E001",
                )
            )
    return errors
