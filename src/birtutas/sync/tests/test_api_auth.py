"""After hello, every request of a transfer is signed by the node that opened it: a session id opens nothing."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client

from birtutas.sync import identity
from birtutas.sync.link import SIGNATURE_HEADER, request_message
from birtutas.sync.models import Node, Session
from birtutas.testing import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def opened(settings, tmp_path):
    settings.SYNC_KEYS_DIR = tmp_path
    w = build_world()
    key = Ed25519PrivateKey.generate()
    node = Node.objects.create(
        organization=w.a.organization, name="A", signing_key=identity.public_hex(key.public_key()), box_key="x"
    )
    session = Session.objects.create(peer=node.pk, kind=Session.Kind.PULL, plan={})
    return key, f"/api/sync/v1/pull/{session.id}"


def get(path, key=None):
    headers = {}
    if key is not None:
        headers[SIGNATURE_HEADER] = key.sign(request_message("GET", path, b"")).hex()
    return Client().get(path, headers=headers)


def test_the_node_that_opened_the_session_reads_it(opened):
    key, path = opened
    assert get(path, key).status_code == 204  # an empty plan: nothing to send


@pytest.mark.parametrize("who", ["nobody", "another key"])
def test_anyone_else_is_refused(opened, who):
    _key, path = opened
    response = get(path, None if who == "nobody" else Ed25519PrivateKey.generate())
    assert response.status_code == 403
    assert response.json()["error"]


def test_a_signature_is_bound_to_the_address_it_was_made_for(opened):
    key, path = opened
    signature = key.sign(request_message("GET", path, b"")).hex()
    response = Client().get(path + '?after=[0,"x"]', headers={SIGNATURE_HEADER: signature})
    assert response.status_code == 403
