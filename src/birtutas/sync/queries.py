"""What the sync status pages read, already narrowed to who may see it.

Two pages: the list of registered school servers (nodes) for officers of a district or region (their
area's schools), ministry analysts and system administrators (every school); and one school's sync
state on this server, for the school's director or deputy and the officers of its area. On a node
(`settings.NODE_FILE` set) the other side is the central server; at the central server it is the
school's registered nodes. Each page reads a fixed number of queries whatever the number of rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from birtutas.journal import queries as journal_queries
from birtutas.kernel import hlc
from birtutas.kernel.collation import sort_key
from birtutas.kernel.errors import NotFound
from birtutas.registry.accounts import is_system_administrator
from birtutas.registry.models import Organization
from birtutas.registry.permissions import Actor, OfficerOfArea, StaffOfOrganization
from birtutas.registry.roles import AREA_ROLES, OFFICER_ROLES, SCHOOL_ADMIN_ROLES

from .kinds import BY_LABEL
from .models import Conflict, Dirty, Have, Node, Origin, Parked, Refusal, Session

# A clock off by more than this is shown (the design's threshold for warning the director).
SKEW_SHOWN_MS = 2 * 60 * 1000
MAX_DAYS = 3650
SESSIONS_SHOWN = 20
REFUSALS_SHOWN = 50
CONFLICTS_SHOWN = 100
PARKED_SHOWN = 50
HELD_SHOWN = 200
VALUE_SHOWN = 200  # characters of a conflicting value

# Who reads one school's sync state: its administration, and the officers of its district or region.
RUNS_SCHOOL = StaffOfOrganization("id")
SCHOOL_SYNC_READERS = RUNS_SCHOOL | OfficerOfArea("id", OFFICER_ROLES)


def node_mode() -> bool:
    """This server is a school's own node (its other side is the central server)."""
    return bool(settings.NODE_FILE)


# ------------------------------------------------------------------ pure rules


def stale_days(text) -> int:
    """The "not synced for more than N days" of the filter: a whole number of days, else the setting."""
    try:
        days = int(str(text).strip())
    except (TypeError, ValueError):
        return settings.SYNC_STALE_DAYS
    return days if 1 <= days <= MAX_DAYS else settings.SYNC_STALE_DAYS


def is_stale(last_synced_at: dt.datetime | None, registered_at: dt.datetime, now: dt.datetime, days: int) -> bool:
    """Silent for more than `days`: since its last sync, or since it was registered if it never synced."""
    return now - (last_synced_at or registered_at) > dt.timedelta(days=days)


def skew_shown(skew_ms: int) -> bool:
    return abs(skew_ms) > SKEW_SHOWN_MS


@dataclass(frozen=True)
class Skew:
    """How far a node's clock is off, as a person reads it: whole hours from two hours on, else minutes."""

    ahead: bool
    hours: int = 0
    minutes: int = 0


def skew_of(skew_ms: int) -> Skew | None:
    """The node's clock skew (node minus centre), when it is above the threshold worth showing."""
    if not skew_shown(skew_ms):
        return None
    off = abs(skew_ms)
    if off >= 2 * 3600 * 1000:
        return Skew(ahead=skew_ms > 0, hours=round(off / 3600_000))
    return Skew(ahead=skew_ms > 0, minutes=round(off / 60_000))


def changes_behind(own: Mapping[uuid.UUID, int], acknowledged: Mapping[uuid.UUID, int]) -> int:
    """Per own origin, the counters this database holds above those the peer acknowledged, summed."""
    return sum(max(0, counter - acknowledged.get(origin, 0)) for origin, counter in own.items())


def waiting_from(own: Mapping[uuid.UUID, int], peers: Mapping[uuid.UUID, Mapping[uuid.UUID, int]]) -> int:
    """What is still waiting for the other side: everything, if no peer ever acknowledged anything;
    else what the best-informed peer still lacks (on a node, the central server is its one peer)."""
    if not peers:
        return sum(own.values())
    return min(changes_behind(own, acknowledged) for acknowledged in peers.values())


def shown_value(value) -> str:
    """A field's value as it travels (JSON), for a person to read."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list):
        text = ", ".join(shown_value(v) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k}: {shown_value(v)}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= VALUE_SHOWN else text[: VALUE_SHOWN - 1] + "…"


def clock_time(clock) -> dt.datetime | None:
    """The wall time of a field clock, `[stamp, origin, previous stamp, digest]` (or a bare stamp)."""
    stamp = clock[0] if isinstance(clock, list | tuple) and clock else clock
    if isinstance(stamp, dict):
        stamp = stamp.get("stamp")
    if isinstance(stamp, bool) or not isinstance(stamp, int) or not 0 < stamp < hlc.MAX:
        return None  # absent, malformed, or a purge's clock, which has no time
    try:
        return hlc.to_datetime(stamp)
    except (OverflowError, OSError, ValueError):
        return None


# ------------------------------------------------------------------ the list of school servers


@dataclass
class NodeRow:
    node: Node
    school: str
    stale: bool
    refusals: int
    openable: bool  # the reader may open the school's own sync page

    @property
    def skew(self) -> Skew | None:
        return skew_of(self.node.clock_skew_ms)


@dataclass
class NodeList:
    days: int
    only_stale: bool
    rows: list[NodeRow]
    stale_schools: list[str]  # the schools with a node silent for more than `days`, in name order
    total: int  # nodes the reader may see, before the filter


def _area(user, actor: Actor) -> Q | None:
    if is_system_administrator(user):
        return Q()
    return actor.area(AREA_ROLES)


def may_list_nodes(user) -> bool:
    return user.is_authenticated and _area(user, Actor.for_user(user)) is not None


def node_list(user, *, days: int, only_stale: bool, language: str | None) -> NodeList | None:
    """Every registered node of the schools the reader oversees (None for anyone else), school by school."""
    actor = Actor.for_user(user)
    area = _area(user, actor)
    if area is None:
        return None
    officer_area = actor.area(OFFICER_ROLES)
    own = actor.organization_ids(SCHOOL_ADMIN_ROLES)
    nodes = Node.objects.filter(organization__in=Organization.objects.filter(area).values("pk"))
    nodes = nodes.select_related("organization").annotate(refusal_count=Count("refusals"))
    if officer_area is not None:
        in_area = Organization.objects.filter(officer_area, pk=OuterRef("organization_id"))
        nodes = nodes.annotate(in_officer_area=Exists(in_area))
    now = timezone.now()
    rows = []
    for node in nodes:
        rows.append(
            NodeRow(
                node=node,
                school=node.organization.name,
                stale=node.revoked_at is None and is_stale(node.last_synced_at, node.registered_at, now, days),
                refusals=node.refusal_count,
                openable=node.organization_id in own or bool(getattr(node, "in_officer_area", False)),
            )
        )
    rows.sort(key=lambda r: (sort_key(r.school, language), sort_key(r.node.name, language), str(r.node.pk)))
    stale_schools = list(dict.fromkeys(r.school for r in rows if r.stale))
    shown = [r for r in rows if r.stale] if only_stale else rows
    return NodeList(days=days, only_stale=only_stale, rows=shown, stale_schools=stale_schools, total=len(rows))


# ------------------------------------------------------------------ one school's sync state


@dataclass
class ConflictRow:
    conflict: Conflict
    kind: str
    field: str
    kept: str
    replaced: str
    replaced_at: dt.datetime | None

    @property
    def record(self) -> str:
        return str(self.conflict.uid)[:8]


def kind_name(label: str) -> str:
    """A kind of record as a person reads it ("mark"), from its label ("journal.mark")."""
    kind = BY_LABEL.get(label)
    return capfirst(str(kind.model._meta.verbose_name)) if kind is not None else label


@dataclass
class Row:
    """A refused change or a parked record, with its kind as a person reads it."""

    item: Refusal | Parked
    kind: str

    @property
    def record(self) -> str:
        return str(self.item.uid)[:8] if self.item.uid else ""


@dataclass
class NodeState:
    node: Node
    skew: Skew | None


@dataclass
class SchoolSync:
    organization: Organization
    runs: bool  # the reader runs the school: sees the conflicts' values and reviews them
    node_mode: bool
    last_synced_at: dt.datetime | None
    waiting: int
    sessions: list[Session]
    nodes: list[NodeState]  # at the central server: the school's registered nodes
    refusals: list[Row]
    refusals_total: int
    conflicts: list[ConflictRow] = field(default_factory=list)
    conflicts_open: int = 0
    parked: list[Row] = field(default_factory=list)
    parked_total: int = 0
    held: list | None = None  # entries held for the director after a closing, where the journal tells them
    held_more: bool = False  # there are more than those shown


def readable_school(actor: Actor, organization_id: int) -> Organization:
    organization = Organization.objects.filter(SCHOOL_SYNC_READERS.q(actor), pk=organization_id).first()
    if organization is None:
        raise NotFound()
    return organization


def own_origins() -> Iterable:
    return Origin.objects.filter(is_self=True).values("id")


def waiting_count(partition_uid: uuid.UUID | None, peers: Iterable[uuid.UUID] | None = None, *, dirty=None) -> int:
    """Changes of this school still waiting to be sent to the other side.

    An approximation that costs two small reads, never a scan of the change log: per origin of this
    database (retired ones too), its counter in the partition minus the counter the peer last
    acknowledged (`Have` with peer = that side), summed; then the rows written since the last
    capture (`Dirty`), which have no counter yet. It counts changes, not records: a record changed
    twice since the last sync counts twice, though only its latest version travels. `Dirty` rows
    are not yet assigned to a partition, so they are counted only on a node, which holds one school
    (`dirty=None`: on a node). `peers`: the other side's ids (None: every peer that acknowledged
    anything in the partition); with several, the best-informed one.
    """
    dirty = node_mode() if dirty is None else dirty
    behind = 0
    if partition_uid is not None:
        own = dict(
            Have.objects.filter(peer__isnull=True, partition=partition_uid, origin__in=own_origins()).values_list(
                "origin", "counter"
            )
        )
        acknowledged: dict[uuid.UUID, dict[uuid.UUID, int]] = {}
        if own:
            rows = Have.objects.filter(peer__isnull=False, partition=partition_uid, origin__in=list(own))
            if peers is not None:
                peers = list(peers)
                rows = rows.filter(peer__in=peers)
                acknowledged = {peer: {} for peer in peers}
            for peer, origin, counter in rows.values_list("peer", "origin", "counter"):
                acknowledged.setdefault(peer, {})[origin] = counter
        behind = waiting_from(own, acknowledged)
    return behind + (Dirty.objects.count() if dirty else 0)


def conflict_rows(conflicts: Iterable[Conflict]) -> list[ConflictRow]:
    rows = []
    for c in conflicts:
        kind = BY_LABEL.get(c.kind)
        kind_label, field_label = kind_name(c.kind), c.field
        if kind is not None:
            if c.field == "~deleted":
                field_label = str(_("deleted"))
            else:
                with contextlib.suppress(LookupError):
                    field_label = str(kind.model._meta.get_field(c.field).verbose_name)
        rows.append(
            ConflictRow(
                conflict=c,
                kind=kind_label,
                field=field_label,
                kept=shown_value(c.kept),
                replaced=shown_value(c.replaced),
                replaced_at=clock_time(c.replaced_clock),
            )
        )
    return rows


def school_sync(actor: Actor, organization_id: int) -> SchoolSync:
    """One school's sync state on this server, as its administration or an officer of its area reads it."""
    organization = readable_school(actor, organization_id)
    runs = organization.pk in actor.organization_ids(SCHOOL_ADMIN_ROLES)
    on_node = node_mode()
    partition = organization.uid
    sessions = Session.objects.all()
    refusals = Refusal.objects.filter(node__organization=organization)
    nodes: list[Node] = []
    peers = None
    if on_node:
        refusals = Refusal.objects.filter(Q(node__organization=organization) | Q(node__isnull=True))
    else:
        nodes = list(Node.objects.filter(organization=organization).order_by("registered_at", "name"))
        sessions = sessions.filter(peer__in=[n.pk for n in nodes])
        peers = [n.pk for n in nodes if n.revoked_at is None]
    last = sessions.filter(state=Session.State.DONE).aggregate(finished=Max("finished_at"), started=Max("started_at"))
    last_synced_at = last["finished"] or last["started"]
    for node in nodes:  # the central server's record of the node's last sync, if the sessions were pruned
        if node.last_synced_at and (last_synced_at is None or node.last_synced_at > last_synced_at):
            last_synced_at = node.last_synced_at
    state = SchoolSync(
        organization=organization,
        runs=runs,
        node_mode=on_node,
        last_synced_at=last_synced_at,
        waiting=waiting_count(partition, peers, dirty=on_node),
        sessions=list(sessions.order_by("-started_at")[:SESSIONS_SHOWN]),
        nodes=[NodeState(node, skew_of(node.clock_skew_ms)) for node in nodes],
        refusals=[Row(r, kind_name(r.kind)) for r in refusals.order_by("-at")[:REFUSALS_SHOWN]],
        refusals_total=refusals.count(),
    )
    if on_node:  # a parked record names no school: on a node, all of them are this school's
        state.parked = [Row(p, kind_name(p.kind)) for p in Parked.objects.order_by("since")[:PARKED_SHOWN]]
        state.parked_total = Parked.objects.count()
    if partition is not None:
        conflicts = Conflict.objects.filter(partition=partition)
        state.conflicts_open = conflicts.filter(reviewed_at__isnull=True).count()
        if runs:  # the values may be anyone's personal data: the school's administration only
            shown = conflicts.select_related("reviewed_by__person").order_by(
                F("reviewed_at").asc(nulls_first=True), "-detected_at", "id"
            )
            state.conflicts = conflict_rows(shown[:CONFLICTS_SHOWN])
    held_entries = getattr(journal_queries, "held_entries", None)
    if runs and held_entries is not None:
        held = list(itertools.islice(held_entries(organization.pk), HELD_SHOWN + 1))
        state.held, state.held_more = held[:HELD_SHOWN], len(held) > HELD_SHOWN
    return state
