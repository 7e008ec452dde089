"""The sync endpoints of the central server, mounted under settings.SYNC_BASE_PATH."""

from django.urls import path

from . import link

urlpatterns = [
    path("nonce", link.nonce, name="sync_nonce"),
    path("hello", link.hello, name="sync_hello"),
    path("push/<uuid:session_id>", link.push, name="sync_push"),
    path("push/<uuid:session_id>/done", link.push_done, name="sync_push_done"),
    path("pull/<uuid:session_id>", link.pull, name="sync_pull"),
    path("pull/<uuid:session_id>/done", link.pull_done, name="sync_pull_done"),
]
