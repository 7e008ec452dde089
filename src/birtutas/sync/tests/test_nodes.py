"""School servers: keys made once and kept private, registration by a signed file carried by hand,
revocation, and the nonce-and-signature proof every sync request carries."""

from __future__ import annotations

import json
import os
import stat
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.utils import translation
from pyrage import x25519

from birtutas.kernel.errors import Forbidden, NotFound
from birtutas.kernel.events import Event
from birtutas.kernel.models import AuditEvent
from birtutas.registry.models import Organization, User
from birtutas.sync import identity, nodes
from birtutas.sync.errors import (
    AuthenticationFailed,
    BadRegistration,
    BadSignature,
    CentreKeyMismatch,
    NodeRevoked,
    NonceExpired,
    NonceReused,
    NotCentral,
    UnknownNode,
    UnknownNonce,
    WrongSignature,
)
from birtutas.sync.models import Node

CENTRE_PERSON_KEY = "person-ids:the-centre's-own"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def centre(settings, tmp_path):
    """This test process is the central server, its keys in a folder of the test's own."""
    settings.SYNC_KEYS_DIR = tmp_path / "keys"
    settings.NODE_FILE = ""
    settings.BIRTUTAS_PERSON_ID_KEY = CENTRE_PERSON_KEY
    settings.SITE_URL = "https://centre.example.kz/"
    return settings


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def register(world, tmp_path, name="Library computer") -> tuple[Node, bytes, object]:
    node, data = nodes.register_node(world.a.director, world.a.organization.pk, name)
    return node, data, tmp_path / "registration.json"


# --- Keys ------------------------------------------------------------------------------------------------


def test_centre_keys_are_made_once_private_whatever_the_umask(centre, tmp_path):
    old = os.umask(0)  # the most careless umask: files would be world-writable
    try:
        keys = identity.centre_keys()
    finally:
        os.umask(old)
    folder = tmp_path / "keys"
    for name in ("centre.ed25519", "centre.age", "centre.id"):
        assert mode(folder / name) == 0o600, name
    assert len((folder / "centre.ed25519").read_bytes()) == 32
    again = identity.centre_keys()
    assert again.id == keys.id
    assert identity.public_hex(again.signing_key.public_key()) == identity.public_hex(keys.signing_key.public_key())
    assert str(again.box_identity.to_public()) == str(keys.box_identity.to_public())
    site = identity.this_site()
    assert not site.is_node and site.id == keys.id and site.organization_uid is None
    assert site.centre_url == "https://centre.example.kz/"
    assert sorted(p.name for p in folder.iterdir()) == ["centre.age", "centre.ed25519", "centre.id"]  # no temp left


def test_a_key_file_others_may_read_is_refused(centre, tmp_path):
    identity.centre_keys()
    os.chmod(tmp_path / "keys" / "centre.ed25519", 0o644)
    with pytest.raises(ImproperlyConfigured, match="chmod 600"):
        identity.centre_keys()


def test_a_pem_signing_key_is_read(centre, tmp_path):
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    identity.write_secret(tmp_path / "keys" / "centre.ed25519", pem)
    assert identity.this_site().public_key_hex == identity.public_hex(key.public_key())


def test_sign_and_verify(centre):
    signature = identity.sign(b"a term of marks")
    key = identity.this_site().public_key_hex
    identity.verify(key, b"a term of marks", signature)
    for data, sig, public in [
        (b"a term of marks!", signature, key),  # changed data
        (b"a term of marks", signature[:-1] + bytes([signature[-1] ^ 1]), key),  # changed signature
        (b"a term of marks", signature, identity.public_hex(Ed25519PrivateKey.generate().public_key())),
        (b"a term of marks", signature, "not hex"),
        (b"a term of marks", b"", key),
    ]:
        with pytest.raises(BadSignature):
            identity.verify(public, data, sig)


def test_write_secret_keeps_an_existing_file_unless_told(tmp_path):
    path = tmp_path / "deep" / "secret"
    assert identity.write_secret(path, b"first")
    assert not identity.write_secret(path, b"second")
    assert path.read_bytes() == b"first"
    assert identity.write_secret(path, b"third", replace=True)
    assert path.read_bytes() == b"third" and mode(path) == 0o600


# --- Registration -------------------------------------------------------------------------------------------


def test_round_trip_create_then_register_gives_the_node_its_identity(centre, world, tmp_path):
    organization = world.a.organization
    organization.bin = None
    registration = tmp_path / "registration.json"
    call_command("node", "create", "--organization", _uid_of(organization), "--name", "Library", "--out", registration)
    assert mode(registration) == 0o600
    node = Node.objects.get()
    assert node.organization_id == organization.pk and node.name == "Library" and node.registered_by is None
    centre_site = identity.this_site()

    node_file = tmp_path / "node" / "node.json"
    call_command(
        "node", "register", str(registration), "--node-file", str(node_file), "--centre-key", centre_site.public_key_hex
    )
    assert mode(node_file) == 0o600

    centre.NODE_FILE = str(node_file)
    centre.BIRTUTAS_PERSON_ID_KEY = "a node's own setting, which must not be used"
    site = identity.this_site()
    organization.refresh_from_db()
    assert site.is_node and site.id == node.id
    assert site.organization_uid == organization.uid
    assert site.public_key_hex == node.signing_key
    assert site.box_recipient == node.box_key
    assert identity.public_hex(site.peer_signing_key) == centre_site.public_key_hex
    assert str(site.peer_box_recipient) == centre_site.box_recipient
    assert site.peer_id == centre_site.id
    assert site.centre_url == "https://centre.example.kz/"
    assert identity.person_id_key() == CENTRE_PERSON_KEY.encode()
    # What the node signs, the centre verifies with the key it registered; bundles sealed to either open.
    identity.verify(node.signing_key, b"hello", identity.sign(b"hello"))
    sealed = __import__("pyrage").encrypt(b"marks", [x25519.Recipient.from_str(node.box_key)])
    assert __import__("pyrage").decrypt(sealed, [site.box_identity]) == b"marks"


def _uid_of(organization: Organization) -> str:
    from birtutas.sync.capture import flush

    flush()
    organization.refresh_from_db()
    return str(organization.uid)


def test_create_finds_the_organization_by_bin_and_refuses_an_unknown_one(centre, world, tmp_path):
    Organization.objects.filter(pk=world.a.organization.pk).update(bin="000000000000")
    call_command("node", "create", "--organization", "000000000000", "--name", "A", "--out", tmp_path / "a.json")
    assert Node.objects.get().organization_id == world.a.organization.pk
    with pytest.raises(CommandError, match="no organization"):
        call_command("node", "create", "--organization", "999999999999", "--name", "A", "--out", tmp_path / "b.json")
    with pytest.raises(CommandError, match="already exists"):
        call_command("node", "create", "--organization", "000000000000", "--name", "A", "--out", tmp_path / "a.json")
    assert Node.objects.count() == 1  # nothing registered for a file that could not be written


def test_the_registration_is_audited_without_a_secret(centre, world, tmp_path):
    node, data, _path = register(world, tmp_path)
    event = AuditEvent.objects.get(event=Event.NODE_REGISTER)
    assert event.actor_id == world.a.director.pk and event.organization_id == world.a.organization.pk
    assert event.object_key == f"node:{node.id}"
    payload = json.loads(data)["registration"]
    logged = json.dumps([event.before, event.after, event.reason])
    for secret in (payload["keys"]["signing"], payload["keys"]["box"], payload["person_id_key"]):
        assert secret not in logged
    assert node.signing_key in logged


def test_the_registration_file_is_signed_canonical_json(centre, world, tmp_path):
    _node, data, _path = register(world, tmp_path)
    content = json.loads(data)
    payload = content["registration"]
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    identity.verify(payload["centre"]["signing_key"], canonical, bytes.fromhex(content["signature"]))
    assert payload["format"] == "birtutas-node/1"
    assert payload["organization"]["names"]["kk"] == "A мектебі"
    assert payload["person_id_key"] == CENTRE_PERSON_KEY


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c["registration"]["organization"].update(uid=str(uuid.uuid4())),  # another school's scope
        lambda c: c["registration"].update(person_id_key="guessed"),
        lambda c: c["registration"]["keys"].update(signing=Ed25519PrivateKey.generate().private_bytes_raw().hex()),
        lambda c: c.update(signature="00" * 64),
        # A forger's own key inside the file, and their signature: refused against the key given by hand.
        "forged",
    ],
)
def test_a_tampered_registration_file_is_refused_and_nothing_written(centre, world, tmp_path, tamper):
    _node, data, registration = register(world, tmp_path)
    genuine_key = identity.this_site().public_key_hex
    content = json.loads(data)
    if tamper == "forged":
        forger = Ed25519PrivateKey.generate()
        content["registration"]["centre"]["signing_key"] = identity.public_hex(forger.public_key())
        content["signature"] = forger.sign(identity.canonical(content["registration"])).hex()
    else:
        tamper(content)
    registration.write_text(json.dumps(content))
    node_file = tmp_path / "node.json"
    with pytest.raises(CommandError, match="signed|signature"):
        call_command("node", "register", str(registration), "--node-file", str(node_file), "--centre-key", genuine_key)
    assert not node_file.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    with pytest.raises(BadSignature):
        nodes.install_registration(json.dumps(content).encode(), node_file, centre_key=genuine_key)
    assert not node_file.exists()


def test_a_file_signed_by_its_own_inside_key_but_not_the_given_one_names_the_mismatch(centre, world, tmp_path):
    _node, data, _path = register(world, tmp_path)
    other = identity.public_hex(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(CentreKeyMismatch, match="different central server key"):
        nodes.install_registration(data, tmp_path / "node.json", centre_key=other)
    assert not (tmp_path / "node.json").exists()


@pytest.mark.parametrize("data", [b"", b"not json", b"[]", b'{"registration": {"format": "birtutas-node/9"}}'])
def test_something_that_is_not_a_registration_file_is_refused(centre, tmp_path, data):
    with pytest.raises(BadRegistration, match="not a valid school server registration file"):
        nodes.install_registration(data, tmp_path / "node.json")
    assert not (tmp_path / "node.json").exists()


def test_register_keeps_an_existing_node_file_unless_replaced(centre, world, tmp_path):
    _node, data, registration = register(world, tmp_path)
    registration.write_bytes(data)
    node_file = tmp_path / "node.json"
    node_file.write_text("an older registration")
    with pytest.raises(CommandError, match="already registered"):
        call_command("node", "register", str(registration), "--node-file", str(node_file))
    assert node_file.read_text() == "an older registration"
    call_command("node", "register", str(registration), "--node-file", str(node_file), "--replace")
    assert json.loads(node_file.read_text())["signature"] == json.loads(data)["signature"]


def test_a_node_file_changed_on_disk_is_refused(centre, world, tmp_path):
    _node, data, _path = register(world, tmp_path)
    node_file = tmp_path / "node.json"
    nodes.install_registration(data, node_file)
    centre.NODE_FILE = str(node_file)
    assert identity.this_site().is_node
    content = json.loads(node_file.read_text())
    content["registration"]["organization"]["uid"] = str(uuid.uuid4())
    identity.write_secret(node_file, json.dumps(content).encode(), replace=True)
    with pytest.raises(ImproperlyConfigured, match="not a valid node file"):
        identity.this_site()
    centre.NODE_FILE = str(tmp_path / "missing.json")
    with pytest.raises(ImproperlyConfigured, match="node register"):
        identity.person_id_key()


def test_who_may_register_a_node(centre, world, tmp_path):
    a = world.a.organization.pk
    for user in (world.b.director, world.a.teacher, world.district_officer):
        with pytest.raises(NotFound):
            nodes.register_node(user, a, "Library")
    superuser = User.objects.create(username="root", is_superuser=True)
    assert nodes.register_node(superuser, a, "Root's")[0].registered_by == superuser
    assert nodes.register_node(None, a, "The system's")[0].registered_by is None
    with pytest.raises(NotFound):
        nodes.register_node(None, 10**9, "Nowhere")
    assert Node.objects.count() == 2
    assert AuditEvent.objects.filter(event=Event.NODE_REGISTER).count() == 2


@pytest.mark.parametrize("name, message", [("   ", "Give the school server a name"), ("x" * 101, "at most 100")])
def test_a_node_needs_a_name(centre, world, name, message):
    with pytest.raises(Exception, match=message):
        nodes.register_node(world.a.director, world.a.organization.pk, name)
    assert not Node.objects.exists()


def test_a_node_does_not_register_nodes(centre, world, tmp_path):
    _node, data, _path = register(world, tmp_path)
    nodes.install_registration(data, tmp_path / "node.json")
    centre.NODE_FILE = str(tmp_path / "node.json")
    with pytest.raises(NotCentral):
        nodes.register_node(None, world.a.organization.pk, "Another")


# --- Revocation -------------------------------------------------------------------------------------------


def test_a_revoked_node_is_refused_with_date_and_reason(centre, world, tmp_path):
    node, _data, _path = register(world, tmp_path)
    assert nodes.check_node(node.id) == node
    nodes.revoke_node(world.a.director, str(node.id), "  The computer was stolen.  ")
    with pytest.raises(NodeRevoked) as refused:
        nodes.check_node(node.id)
    node.refresh_from_db()
    message = str(refused.value.message)
    assert "The computer was stolen." in message
    assert node.revoked_at.date().isoformat()[:7] in message
    assert refused.value.status == 403 and isinstance(refused.value, Forbidden)
    event = AuditEvent.objects.get(event=Event.NODE_REVOKE)
    assert event.reason == "The computer was stolen." and event.actor_id == world.a.director.pk


def test_revoking_twice_changes_nothing_the_second_time(centre, world, tmp_path):
    node, _data, _path = register(world, tmp_path)
    first = nodes.revoke_node(None, node.id, "Replaced")
    second = nodes.revoke_node(None, node.id, "Another reason")
    node.refresh_from_db()
    assert node.revoked_at == first.revoked_at == second.revoked_at and node.revoked_reason == "Replaced"
    assert AuditEvent.objects.filter(event=Event.NODE_REVOKE).count() == 1


def test_who_may_revoke_and_what_is_not_a_node(centre, world, tmp_path):
    node, _data, _path = register(world, tmp_path)
    with pytest.raises(UnknownNode):
        nodes.revoke_node(world.b.director, node.id, "Not mine")
    with pytest.raises(UnknownNode):
        nodes.revoke_node(None, uuid.uuid4(), "Nobody")
    with pytest.raises(UnknownNode):
        nodes.check_node("not-a-uuid")
    with pytest.raises(Exception, match="Give the reason"):
        nodes.revoke_node(None, node.id, " ")
    assert nodes.check_node(node.id).revoked_at is None
    assert UnknownNode().status == 404


def test_revoke_and_list_commands(centre, world, tmp_path, capsys):
    node, _data, _path = register(world, tmp_path)
    call_command("node", "list")
    assert f"{node.id}" in capsys.readouterr().out
    call_command("node", "revoke", str(node.id), "--reason", "Moved to another building")
    call_command("node", "list")
    out = capsys.readouterr().out
    assert "revoked" in out and "Moved to another building" in out
    with pytest.raises(CommandError, match="not registered"):
        call_command("node", "revoke", str(uuid.uuid4()), "--reason", "x")


# --- Authentication of a sync request ---------------------------------------------------------------------


@pytest.fixture
def node_keys(centre, world, tmp_path):
    """A registered node and its private key, as the node holds it."""
    node, data, _path = register(world, tmp_path)
    payload = json.loads(data)["registration"]
    return node, identity.private_key(payload["keys"]["signing"])


def hello(node, key, value) -> bytes:
    return key.sign(b"birtutas-sync-hello|" + value + node.id.bytes)


def test_a_signed_nonce_authenticates_the_node_once(node_keys):
    node, key = node_keys
    value = nodes.nonce()
    assert len(value) == 32 and nodes.nonce() != value
    assert nodes.authenticate(node.id, value, hello(node, key, value)) == node
    with pytest.raises(NonceReused, match="already used"):
        nodes.authenticate(node.id, value, hello(node, key, value))
    fresh = nodes.nonce()  # also as hex, as a JSON body carries them
    assert nodes.authenticate(str(node.id), fresh.hex(), hello(node, key, fresh).hex()) == node


def test_an_expired_nonce_is_refused(node_keys, monkeypatch):
    node, key = node_keys
    value = nodes.nonce()
    issued = nodes._now()
    monkeypatch.setattr(nodes, "_now", lambda: issued + nodes.NONCE_TTL + 1)
    with pytest.raises(NonceExpired, match="expired"):
        nodes.authenticate(node.id, value, hello(node, key, value))


def test_a_nonce_never_issued_is_refused(node_keys):
    node, key = node_keys
    for value in (os.urandom(32), b"short", "not hex"):
        with pytest.raises(UnknownNonce):
            nodes.authenticate(node.id, value, b"")


def test_a_wrong_signature_is_refused(node_keys):
    node, key = node_keys
    stranger = Ed25519PrivateKey.generate()
    value = nodes.nonce()
    with pytest.raises(WrongSignature) as refused:
        nodes.authenticate(node.id, value, hello(node, stranger, value))
    assert refused.value.status == 401 and isinstance(refused.value, AuthenticationFailed)
    other = nodes.nonce()  # the node's own signature, of another node id: refused too
    with pytest.raises(WrongSignature):
        nodes.authenticate(node.id, other, key.sign(b"birtutas-sync-hello|" + other + uuid.uuid4().bytes))
    with pytest.raises(NonceReused):  # a nonce is spent by any attempt
        nodes.authenticate(node.id, value, hello(node, key, value))


def test_a_revoked_or_unknown_node_is_refused_before_its_nonce(node_keys):
    node, key = node_keys
    value = nodes.nonce()
    nodes.revoke_node(None, node.id, "Decommissioned")
    with pytest.raises(NodeRevoked, match="Decommissioned"):
        nodes.authenticate(node.id, value, hello(node, key, value))
    with pytest.raises(UnknownNode):
        nodes.authenticate(uuid.uuid4(), value, hello(node, key, value))


def test_the_node_signs_its_hello_with_its_own_file(node_keys, centre, tmp_path, world):
    node, _key = node_keys
    data = nodes.register_node(None, world.a.organization.pk, "Second")[1]
    second = Node.objects.get(name="Second")
    nodes.install_registration(data, tmp_path / "node.json")
    value = nodes.nonce()
    centre.NODE_FILE = str(tmp_path / "node.json")
    signature = nodes.sign_hello(value)  # on the node
    centre.NODE_FILE = ""
    assert nodes.authenticate(second.id, value, signature) == second  # at the centre
