"""The node's own sync: tried every few minutes by Celery beat (or `birtutas sync --loop`), same code."""

from __future__ import annotations

import logging

from celery import shared_task

from birtutas.kernel.context import Via, acting_via

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def sync_now() -> dict:
    """One round if this server is a node and the central server answers; otherwise nothing, quietly."""
    from . import capture, client, identity

    with acting_via(Via.SYNC):
        if not identity.is_node():
            capture.flush()  # the centre captures in the background too, so its peers' plans are ready
            return {"node": False}
        try:
            report = client.sync_once()
        except client.LinkError as error:
            log.info("no sync now: %s", error)
            return {"node": True, "error": str(error)}
        return {"node": True, "pushed": report.pushed, "pulled": report.pulled}
