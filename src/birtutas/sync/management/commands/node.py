"""School servers: `create` a registration (centre), `register` this computer from one (node), `revoke`, `list`.

A registration file holds the node's private keys and the key person ids are derived with: carry it
like a key (by hand, or over a link you trust), register the node with it, then delete it.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from birtutas.kernel.context import Via, acting_via
from birtutas.kernel.errors import ServiceError
from birtutas.registry.models import Organization
from birtutas.sync import identity, nodes


class Command(BaseCommand):
    help = "Register, revoke and list school servers (nodes), and register this computer as one."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="create|register|revoke|list|site")

        create = sub.add_parser("create", help="at the central server: register a node, write its registration file")
        create.add_argument("--organization", required=True, help="the organization's uid or BIN")
        create.add_argument("--name", required=True, help="a name for the server, such as 'Library computer'")
        create.add_argument("--out", required=True, help="where to write the registration file (not overwritten)")

        register = sub.add_parser("register", help="on the school's computer: install a registration file")
        register.add_argument("file", help="the registration file made by `node create`")
        register.add_argument("--node-file", help="where to keep the node file (default: BIRTUTAS_NODE_FILE or var)")
        register.add_argument("--centre-key", help="the central server's public key (hex), to check the file against")
        register.add_argument("--replace", action="store_true", help="replace an existing node file")

        revoke = sub.add_parser("revoke", help="at the central server: revoke a node's registration")
        revoke.add_argument("node_id")
        revoke.add_argument("--reason", required=True)

        sub.add_parser("list", help="at the central server: every node, its school and its last sync")
        sub.add_parser("site", help="this site's id, mode and public keys")

    def handle(self, *args, **options):
        with acting_via(Via.COMMAND):
            try:
                getattr(self, "_" + options["action"])(options)
            except ServiceError as error:
                raise CommandError(str(error.message)) from None

    def _create(self, options):
        organization = _find_organization(options["organization"])
        out = Path(options["out"])
        if out.exists():
            raise CommandError(_("%(path)s already exists; it is not overwritten.") % {"path": out})
        with transaction.atomic():  # no file written, no node registered
            node, data = nodes.register_node(None, organization.pk, options["name"])
            if not identity.write_secret(out, data):
                raise CommandError(_("%(path)s already exists; it is not overwritten.") % {"path": out})
        self.stdout.write(
            _("Registered the school server %(name)s of %(organization)s, id %(id)s.")
            % {"name": node.name, "organization": organization.name, "id": node.id}
        )
        self.stdout.write(_("Registration file: %(path)s") % {"path": out})
        self.stdout.write(_("Central server key: %(key)s") % {"key": identity.this_site().public_key_hex})
        self.stdout.write(
            _(
                "The file holds the school server's secret keys: carry it like a key, register the server "
                "with it, then delete it. If it is lost, revoke the server and register it again."
            )
        )

    def _register(self, options):
        source = Path(options["file"])
        try:
            data = source.read_bytes()
        except OSError as error:
            raise CommandError(_("Cannot read %(path)s: %(error)s") % {"path": source, "error": error}) from None
        target = Path(options["node_file"] or settings.NODE_FILE or Path(settings.VAR_DIR) / "node.json").resolve()
        site = nodes.install_registration(data, target, centre_key=options["centre_key"], replace=options["replace"])
        self.stdout.write(_("This computer is now the school server %(id)s.") % {"id": site.id})
        self.stdout.write(
            _("Central server: %(url)s, key %(key)s") % {"url": site.centre_url, "key": _hex(site.peer_signing_key)}
        )
        if not options["centre_key"]:
            self.stdout.write(
                _("Compare this key with the one the central server's administrators give you by another way.")
            )
        self.stdout.write(_("Node file: %(path)s. Start the server with this setting:") % {"path": target})
        self.stdout.write(f"BIRTUTAS_NODE_FILE={target}")
        self.stdout.write(_("Then delete the registration file %(path)s.") % {"path": source})

    def _revoke(self, options):
        node = nodes.revoke_node(None, options["node_id"], options["reason"])
        self.stdout.write(
            _("The registration of %(name)s (%(id)s) is revoked since %(date)s.")
            % {"name": node.name, "id": node.id, "date": node.revoked_at.isoformat(timespec="seconds")}
        )

    def _list(self, options):
        rows = list(nodes.all_nodes())
        if not rows:
            self.stdout.write(_("No school servers are registered."))
            return
        for node in rows:
            organization = node.organization
            if node.revoked_at:
                state = _("revoked %(date)s: %(reason)s") % {
                    "date": node.revoked_at.date().isoformat(),
                    "reason": node.revoked_reason,
                }
            elif node.last_synced_at:
                state = _("last sync %(date)s") % {"date": node.last_synced_at.isoformat(timespec="minutes")}
            else:
                state = _("never synced")
            self.stdout.write(
                "\t".join(
                    [str(node.id), organization.bin or str(organization.uid or ""), organization.name, node.name, state]
                )
            )

    def _site(self, options):
        site = identity.this_site()
        self.stdout.write(_("School server") if site.is_node else _("Central server"))
        self.stdout.write(f"id {site.id}")
        if site.organization_uid:
            self.stdout.write(f"organization {site.organization_uid}")
        self.stdout.write(f"signing key {site.public_key_hex}")
        self.stdout.write(f"age recipient {site.box_recipient}")
        self.stdout.write(f"centre {site.centre_url}")


def _hex(key) -> str:
    return identity.public_hex(key) if key is not None else ""


def _find_organization(value: str) -> Organization:
    value = value.strip()
    organization = None
    if re.fullmatch(r"\d{12}", value):
        organization = Organization.objects.filter(bin=value).first()
    else:
        with contextlib.suppress(ValueError):
            organization = Organization.objects.filter(uid=uuid.UUID(value)).first()
    if organization is None:
        raise CommandError(_("There is no organization with the uid or BIN %(value)s.") % {"value": value})
    return organization
