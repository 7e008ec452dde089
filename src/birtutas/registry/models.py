"""Registry tables: territory, organizations, people by IIN, accounts, roles, school calendar."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from birtutas.kernel.travel import travel_id

from .permissions import AnyoneSignedIn, IsOwnAccount, IsSelfPerson, Nobody, Permissions, StaffOfOrganization
from .roles import AREA_ROLES, SCHOOL_ADMIN_ROLES, Role  # noqa: F401 - re-exported


class LocalizedNameMixin(models.Model):
    """Names kept in the three languages; `name` is the one for the active language."""

    name_kk = models.CharField(_("name (Kazakh)"), max_length=200)
    name_ru = models.CharField(_("name (Russian)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        lang = (get_language() or "kk")[:2]
        return getattr(self, f"name_{lang}", "") or self.name_kk

    def __str__(self) -> str:
        return self.name


class Region(LocalizedNameMixin):
    uid = travel_id()
    class Kind(models.TextChoices):
        REGION = "region", _("region")
        CITY = "city", _("city of republican significance")

    code = models.CharField(max_length=8, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)

    permissions = AnyoneSignedIn()

    class Meta:
        ordering = ["code"]


class District(LocalizedNameMixin):
    uid = travel_id()
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="districts")

    permissions = AnyoneSignedIn()

    class Meta:
        ordering = ["region", "name_kk"]


class Organization(LocalizedNameMixin):
    uid = travel_id()
    class Kind(models.TextChoices):
        SCHOOL = "school", _("school")
        COLLEGE = "college", _("college")
        UNIVERSITY = "university", _("university")

    class Locality(models.TextChoices):
        URBAN = "urban", _("urban")
        RURAL = "rural", _("rural")

    class Language(models.TextChoices):
        KAZAKH = "kk", _("Kazakh")
        RUSSIAN = "ru", _("Russian")
        MIXED = "mixed", _("Kazakh and Russian")
        ENGLISH = "en", _("English")

    class Connection(models.TextChoices):
        NONE = "none", _("no internet")
        SATELLITE = "satellite", _("satellite")
        MOBILE = "mobile", _("mobile (3G/4G)")
        ADSL = "adsl", _("ADSL")
        FIBER = "fiber", _("fibre optic")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="organizations")
    # The business identification number (БСН / БИН), the key of the national list of schools.
    bin = models.CharField(_("BIN"), max_length=12, unique=True, null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.SCHOOL)
    locality = models.CharField(_("locality"), max_length=8, choices=Locality.choices)
    is_small_ungraded = models.BooleanField(_("small ungraded school"), default=False)
    language = models.CharField(_("language of instruction"), max_length=8, choices=Language.choices)
    connection = models.CharField(_("internet connection"), max_length=12, choices=Connection.choices)
    connection_mbps = models.DecimalField(_("connection speed, Mbit/s"), max_digits=8, decimal_places=2, default=0)
    student_computers = models.PositiveIntegerField(_("computers for students"), default=0)

    permissions = StaffOfOrganization("id")

    class Meta:
        ordering = ["name_kk"]


class Person(models.Model):
    uid = travel_id()
    class Sex(models.TextChoices):
        MALE = "M", _("male")
        FEMALE = "F", _("female")

    iin = models.CharField(_("IIN"), max_length=12, unique=True)
    last_name = models.CharField(_("last name"), max_length=100)
    first_name = models.CharField(_("first name"), max_length=100)
    patronymic = models.CharField(_("patronymic"), max_length=100, blank=True)
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    permissions = IsSelfPerson() | StaffOfOrganization("memberships__organization")

    class Meta:
        ordering = ["last_name", "first_name"]

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.patronymic) if p)

    @property
    def short_name(self) -> str:
        return f"{self.last_name} {self.first_name}"

    def __str__(self) -> str:
        return self.short_name


class User(AbstractUser):
    """An account. The person behind it (if any) is in `person`; roles are `Membership` rows."""

    uid = travel_id()

    person = models.OneToOneField(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="user")
    language = models.CharField(_("language"), max_length=2, default="kk")
    is_demo = models.BooleanField(default=False)
    # Part of every session's check: replacing it ends all the account's sessions ("sign out everywhere").
    session_token = models.CharField(max_length=32, blank=True, default="")

    # The account holder changes their own account; a director acts through the school's Membership.
    permissions = Permissions(Nobody(), change=IsOwnAccount("id"))

    @property
    def display_name(self) -> str:
        """How the account is shown as an author (of a letter, an announcement): its person's short
        name, else (an account with no person, such as a system administrator's) the username."""
        return self.person.short_name if self.person_id else self.get_username()

    def get_session_auth_hash(self) -> str:
        if not self.session_token:
            return super().get_session_auth_hash()
        key_salt = "birtutas.registry.User.get_session_auth_hash"
        return salted_hmac(key_salt, f"{self.password}:{self.session_token}", algorithm="sha256").hexdigest()


class Membership(models.Model):
    """A person's role, scoped to an organization, a district, a region, or the whole country."""

    uid = travel_id()

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )
    district = models.ForeignKey(District, null=True, blank=True, on_delete=models.CASCADE)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.CASCADE)
    # Entitles an area role to see personal data, not only aggregates (granted explicitly).
    personal_data_access = models.BooleanField(default=False)
    # A role ends (a teacher leaves, a student moves school) without losing the row or its history.
    ended_on = models.DateField(null=True, blank=True)

    # The school's administration ends and restores the roles held in their school, and nowhere else.
    permissions = Permissions(Nobody(), change=StaffOfOrganization("organization_id"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "role", "organization"],
                condition=models.Q(organization__isnull=False),
                name="membership_unique_in_org",
            ),
        ]


class Guardianship(models.Model):
    uid = travel_id()
    guardian = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="wards")
    student = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="guardians")
    relation = models.CharField(_("relation"), max_length=30, blank=True)

    permissions = Nobody()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["guardian", "student"], name="guardianship_unique")]


# ------------------------------------------------------------------ the school calendar

from .permissions import NOTHING as NO_ROWS  # noqa: E402 - the calendar's own rules, beside its models
from .permissions import OfficerOfArea, Permission, resolve  # noqa: E402


class MinistryDefault(Permission):
    """The row belongs to the ministry's default calendar (no organization at `path`): everyone
    signed in reads it."""

    def __init__(self, path: str):
        self.path = path

    def q(self, actor) -> models.Q:
        return models.Q(**{f"{self.path}__isnull": True}) if actor.is_authenticated else NO_ROWS

    def allows(self, actor, obj) -> bool:
        return actor.is_authenticated and resolve(obj, self.path) is None


class HoldsRole(Permission):
    """The actor holds one of `roles`, wherever (a role of the whole system, such as its administrator)."""

    def __init__(self, *roles: str):
        self.roles = roles

    def q(self, actor) -> models.Q:
        return models.Q() if actor.has_role(*self.roles) else NO_ROWS

    def allows(self, actor, obj) -> bool:
        return actor.has_role(*self.roles)


def calendar_permissions(path: str) -> Permissions:
    """A calendar record whose organization is at `path`: the ministry's default (no organization) is
    read by everyone signed in and changed only by a system administrator; a school's own calendar
    is read by the school's people (and the officers above it) and changed by its administration."""
    read = MinistryDefault(path) | StaffOfOrganization(path, Role.values) | OfficerOfArea(path, AREA_ROLES)
    write = StaffOfOrganization(path, SCHOOL_ADMIN_ROLES) | (MinistryDefault(path) & HoldsRole(Role.SYSADMIN))
    return Permissions(read, create=write, change=write, delete=write)


class AcademicYear(models.Model):
    """A school year. Without an organization it is the ministry's default calendar; an organization
    adopts a copy of it (terms or semesters, holidays) and adjusts its own copy."""

    uid = travel_id()

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="academic_years"
    )
    name = models.CharField(max_length=9)  # "2026-2027"
    starts_on = models.DateField()
    ends_on = models.DateField()

    permissions = calendar_permissions("organization_id")

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                condition=models.Q(organization__isnull=False),
                name="year_unique_in_organization",
            ),
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(organization__isnull=True), name="year_unique_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Term(models.Model):
    """A term (тоқсан, four a school year) or a semester (two, in colleges and universities)."""

    uid = travel_id()

    class Kind(models.TextChoices):
        TERM = "term", _("term")
        SEMESTER = "semester", _("semester")

    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="terms")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.TERM)
    number = models.PositiveSmallIntegerField()
    starts_on = models.DateField()
    ends_on = models.DateField()

    permissions = calendar_permissions("year__organization_id")

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["year", "number"], name="term_unique_number"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="term_number_positive"),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.SEMESTER:
            return _("Semester %(number)d, %(year)s") % {"number": self.number, "year": self.year.name}
        return _("Term %(number)d, %(year)s") % {"number": self.number, "year": self.year.name}


class Holiday(LocalizedNameMixin):
    """Days without lessons in a school year: a school holiday (каникулы) or a public holiday."""

    uid = travel_id()

    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="holidays")
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))

    permissions = calendar_permissions("year__organization_id")

    class Meta:
        ordering = ["starts_on", "ends_on"]
        constraints = [
            models.UniqueConstraint(fields=["year", "starts_on", "ends_on"], name="holiday_unique_dates"),
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="holiday_dates_in_order"
            ),
        ]


class ApiToken(models.Model):
    """A bearer token for mobile apps and integrations; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    permissions = Nobody()


class AccountCode(models.Model):
    """A one-time code with which a person activates their account or resets its password.

    Only a keyed hash of the code is stored; the code itself is printed on a letter or sent by
    e-mail or SMS once, when it is issued. A code expires, works once, and a newer code of the
    same person replaces it. `organization` is the school through which it was issued (none when
    the person asked for it themselves or the ministry issued it).
    """

    class Purpose(models.TextChoices):
        ACTIVATION = "activation", _("activation")
        RESET = "reset", _("password reset")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="account_codes")
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices)
    digest = models.CharField(max_length=64, unique=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="account_codes"
    )
    issued_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("issued at"))
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    permissions = Permissions(
        StaffOfOrganization("organization_id"),
        create=StaffOfOrganization("organization_id"),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["person", "purpose", "used_at"], name="account_code_person_idx")]


from .permissions import NOTHING, Permission  # noqa: E402 - appended here, beside the one model that needs it


class DirectsPersonSchool(Permission):
    """A director or deputy of a school where the request's person (or their child) holds a current role.

    Never one of the school that asks: a school does not confirm its own request.
    """

    def q(self, actor) -> models.Q:
        orgs = actor.organization_ids(SCHOOL_ADMIN_ROLES)
        if not orgs:
            return NOTHING
        own = LinkRequest.objects.filter(
            person__memberships__organization_id__in=orgs, person__memberships__ended_on__isnull=True
        )
        child = LinkRequest.objects.filter(
            person__wards__student__memberships__organization_id__in=orgs,
            person__wards__student__memberships__ended_on__isnull=True,
        )
        return (models.Q(pk__in=own.values("pk")) | models.Q(pk__in=child.values("pk"))) & ~models.Q(
            organization_id__in=orgs
        )

    def allows(self, actor, obj) -> bool:
        orgs = set(actor.organization_ids(SCHOOL_ADMIN_ROLES))
        if not orgs or obj.organization_id in orgs:
            return False
        return (
            Membership.objects.filter(organization_id__in=orgs, ended_on__isnull=True)
            .filter(models.Q(person_id=obj.person_id) | models.Q(person__guardians__guardian_id=obj.person_id))
            .exists()
        )


class LinkRequest(models.Model):
    """A school's request to link a person registered elsewhere (or using their own account) to it.

    Nothing of the person changes until they, from their account, or a director of their current
    school accept it. `roles` are granted in `organization`; `wards` (student ids) get the person as
    a guardian and `guardians` (person ids) become theirs; `attachments` is what the requesting
    domain applies on acceptance (the journal: an enrollment, a class to lead, a teaching load).
    `name_given` is the name as the asking school wrote it, so the person can tell whether it is them.
    """

    uid = travel_id()

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for confirmation")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="link_requests")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="link_requests")
    name_given = models.CharField(_("name given by the school"), max_length=300, blank=True)
    roles = models.JSONField(default=list)
    wards = models.JSONField(default=list)
    guardians = models.JSONField(default=list)
    attachments = models.JSONField(default=dict)
    requested_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    permissions = Permissions(
        IsSelfPerson("person_id") | DirectsPersonSchool(),
        change=IsSelfPerson("person_id") | DirectsPersonSchool(),
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "organization"],
                condition=models.Q(state="pending"),
                name="link_request_one_pending",
            )
        ]
