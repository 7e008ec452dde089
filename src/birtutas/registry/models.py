"""Registry tables: territory, organizations, people by IIN, accounts, roles, school calendar."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .permissions import AnyoneSignedIn, IsSelfPerson, Nobody, StaffOfOrganization
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
    class Kind(models.TextChoices):
        REGION = "region", _("region")
        CITY = "city", _("city of republican significance")

    code = models.CharField(max_length=8, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)

    permissions = AnyoneSignedIn()

    class Meta:
        ordering = ["code"]


class District(LocalizedNameMixin):
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="districts")

    permissions = AnyoneSignedIn()

    class Meta:
        ordering = ["region", "name_kk"]


class Organization(LocalizedNameMixin):
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

    person = models.OneToOneField(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="user")
    language = models.CharField(_("language"), max_length=2, default="kk")
    is_demo = models.BooleanField(default=False)

    permissions = Nobody()


class Membership(models.Model):
    """A person's role, scoped to an organization, a district, a region, or the whole country."""

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

    permissions = Nobody()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "role", "organization"],
                condition=models.Q(organization__isnull=False),
                name="membership_unique_in_org",
            ),
        ]


class Guardianship(models.Model):
    guardian = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="wards")
    student = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="guardians")
    relation = models.CharField(_("relation"), max_length=30, blank=True)

    permissions = Nobody()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["guardian", "student"], name="guardianship_unique")]


class AcademicYear(models.Model):
    name = models.CharField(max_length=9, unique=True)  # "2026-2027"
    starts_on = models.DateField()
    ends_on = models.DateField()

    permissions = AnyoneSignedIn()

    class Meta:
        ordering = ["-starts_on"]

    def __str__(self) -> str:
        return self.name


class Term(models.Model):
    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="terms")
    number = models.PositiveSmallIntegerField()
    starts_on = models.DateField()
    ends_on = models.DateField()

    permissions = AnyoneSignedIn()

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["year", "number"], name="term_unique_number"),
            models.CheckConstraint(condition=models.Q(number__gte=1, number__lte=4), name="term_number_1_4"),
        ]

    def __str__(self) -> str:
        return _("Term %(number)d, %(year)s") % {"number": self.number, "year": self.year.name}


class ApiToken(models.Model):
    """A bearer token for mobile apps and integrations; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    permissions = Nobody()
