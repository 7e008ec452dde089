"""The column every record that travels between databases carries: its global identity.

The integer primary key stays a row number local to one database: joins, indexes and URLs use it,
and it never leaves the database. `uid` is the record's identity everywhere else (the sync wire,
USB bundles, a later shard): a UUIDv5 of the record's natural key where it has one, so the same fact
entered in two places is one record, else a UUIDv7. The sync fills it when it captures the change
(`birtutas.sync.capture`), in the same transaction as the write, so no write path has to know.
"""

from django.db import models


def travel_id() -> models.UUIDField:
    return models.UUIDField(null=True, unique=True, editable=False)
