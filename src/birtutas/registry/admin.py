"""The registry's administration at /admin/, for system administrators and staff accounts only.

It reads the registry, and it writes only through the account services, so each change is
checked (a registrar acts in their own district or region) and audited like any other: register an
organization, import the national list of schools, appoint a director (and print their code),
issue activation codes. Nothing here edits a row directly; to everyone else the admin does not exist.
"""

from __future__ import annotations

from functools import update_wrapper

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from birtutas.kernel.errors import ServiceError

from . import accounts
from .models import AccountCode, District, Membership, Organization, Person, User
from .permissions import Actor
from .roles import Role
from .rules import mask_iin


def may_administer(user) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or user.is_staff or Actor.for_user(user).has_role(Role.SYSADMIN)


class RegistryAdminSite(admin.AdminSite):
    site_header = gettext_lazy("Birtutas registry")
    site_title = gettext_lazy("Birtutas registry")
    index_title = gettext_lazy("Registry administration")
    site_url = "/"

    def has_permission(self, request) -> bool:
        return may_administer(request.user)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            # Signed in without the right: the administration does not exist for them.
            if not self.has_permission(request):
                raise Http404
            return inner(request, *args, **kwargs)

        return update_wrapper(wrapper, view)

    def login(self, request, extra_context=None):
        """One sign-in page for everyone: ours, with its throttling."""
        if request.user.is_authenticated:
            if not self.has_permission(request):
                raise Http404
            return redirect("admin:index")
        return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


site = RegistryAdminSite(name="admin")


class ReadOnly(admin.ModelAdmin):
    """Rows are shown, never edited here: changes go through the services."""

    def has_view_permission(self, request, obj=None) -> bool:
        return may_administer(request.user)

    def has_module_permission(self, request) -> bool:
        return may_administer(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _render(request, title: str, form=None, **context):
    return TemplateResponse(
        request,
        "registry/admin/form.html",
        {**site.each_context(request), "title": title, "form": form, **context},
    )


# ------------------------------------------------------------------ organizations


class OrganizationForm(forms.Form):
    bin = forms.CharField(label=gettext_lazy("BIN"), max_length=12)
    name_kk = forms.CharField(label=gettext_lazy("name (Kazakh)"), max_length=200)
    name_ru = forms.CharField(label=gettext_lazy("name (Russian)"), max_length=200)
    name_en = forms.CharField(label=gettext_lazy("name (English)"), max_length=200, required=False)
    district = forms.ModelChoiceField(
        label=gettext_lazy("district"), queryset=District.objects.select_related("region").order_by("region", "name_kk")
    )
    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=Organization.Kind.choices)
    locality = forms.ChoiceField(label=gettext_lazy("locality"), choices=Organization.Locality.choices)
    language = forms.ChoiceField(label=gettext_lazy("language of instruction"), choices=Organization.Language.choices)
    connection = forms.ChoiceField(label=gettext_lazy("internet connection"), choices=Organization.Connection.choices)
    connection_mbps = forms.DecimalField(
        label=gettext_lazy("connection speed, Mbit/s"), min_value=0, max_digits=8, decimal_places=2, initial=0
    )
    student_computers = forms.IntegerField(label=gettext_lazy("computers for students"), min_value=0, initial=0)
    small_ungraded = forms.BooleanField(label=gettext_lazy("small ungraded school"), required=False)


class SchoolsFileForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file of schools"))


@admin.register(Organization, site=site)
class OrganizationAdmin(ReadOnly):
    list_display = ("name_kk", "name_ru", "bin", "district", "kind", "locality", "language", "connection")
    list_filter = ("kind", "locality", "language", "connection", "district__region")
    search_fields = ("bin", "name_kk", "name_ru")
    list_select_related = ("district",)

    def has_add_permission(self, request) -> bool:
        return may_administer(request.user)

    def get_urls(self):
        custom = [path("import/", self.admin_site.admin_view(self.import_view), name="registry_organization_import")]
        return custom + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        form = OrganizationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                organization = accounts.register_organization(
                    request.user,
                    bin=data["bin"],
                    district_id=data["district"].pk,
                    name_kk=data["name_kk"],
                    name_ru=data["name_ru"],
                    name_en=data["name_en"],
                    kind=data["kind"],
                    locality=data["locality"],
                    language=data["language"],
                    connection=data["connection"],
                    connection_mbps=str(data["connection_mbps"]),
                    student_computers=str(data["student_computers"]),
                    small_ungraded="yes" if data["small_ungraded"] else "no",
                )
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("%(name)s is registered.") % {"name": organization.name})
                return redirect("admin:registry_organization_changelist")
        links = [(reverse("admin:registry_organization_import"), _("Import the national list of schools from CSV"))]
        return _render(request, _("Register an organization"), form, links=links)

    def import_view(self, request):
        form = SchoolsFileForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            report = accounts.import_schools(request.user, form.cleaned_data["file"].read())
            if report.ok:
                messages.success(
                    request,
                    _(
                        "Imported: %(created)d new, %(updated)d updated, %(unchanged)d unchanged, "
                        "%(districts)d new districts."
                    )
                    % {
                        "created": report.created,
                        "updated": report.updated,
                        "unchanged": report.unchanged,
                        "districts": report.districts,
                    },
                )
                return redirect("admin:registry_organization_changelist")
        return _render(
            request,
            _("Import the national list of schools"),
            form,
            multipart=True,
            report=report,
            columns=",".join(accounts.SCHOOL_COLUMNS),
        )


# ------------------------------------------------------------------ people, roles, accounts


@admin.register(Person, site=site)
class PersonAdmin(ReadOnly):
    list_display = ("last_name", "first_name", "patronymic", "masked_iin", "birth_date")
    search_fields = ("=iin", "last_name", "first_name")
    exclude = ("iin",)
    readonly_fields = ("masked_iin",)
    actions = ["issue_codes"]

    @admin.display(description=gettext_lazy("IIN"))
    def masked_iin(self, person: Person) -> str:
        return mask_iin(person.iin)

    @admin.action(description=gettext_lazy("Issue activation codes (shown once, to print)"))
    @method_decorator(sensitive_variables())
    def issue_codes(self, request, queryset):
        issued, refused = [], []
        for person in queryset[:200]:
            try:
                issued.append(accounts.issue_code(request.user, person.pk))
            except ServiceError as error:
                refused.append((person, error.message))
        response = _render(request, _("Activation codes"), issued=issued, refused=refused)
        response["Cache-Control"] = "no-store"
        return response


class DirectorForm(forms.Form):
    organization = forms.ModelChoiceField(label=gettext_lazy("organization"), queryset=Organization.objects.all())
    iin = forms.CharField(label=gettext_lazy("IIN"), max_length=12)
    last_name = forms.CharField(label=gettext_lazy("last name"), max_length=100, required=False)
    first_name = forms.CharField(label=gettext_lazy("first name"), max_length=100, required=False)
    patronymic = forms.CharField(label=gettext_lazy("patronymic"), max_length=100, required=False)
    email = forms.EmailField(label=gettext_lazy("e-mail"), required=False)
    phone = forms.CharField(label=gettext_lazy("phone"), max_length=20, required=False)
    replace = forms.BooleanField(label=gettext_lazy("end the role of the current director"), required=False)
    new_code = forms.BooleanField(
        label=gettext_lazy("issue a code even if they already use their account"), required=False
    )


@admin.register(Membership, site=site)
class MembershipAdmin(ReadOnly):
    list_display = ("person", "role", "organization", "district", "region", "ended_on")
    list_filter = ("role",)
    search_fields = ("=person__iin", "person__last_name", "organization__name_kk", "organization__bin")
    list_select_related = ("person", "organization", "district", "region")

    def has_add_permission(self, request) -> bool:
        return may_administer(request.user)

    @method_decorator(sensitive_variables())
    def add_view(self, request, form_url="", extra_context=None):
        """Appoint a director: the person is registered if new and gets a code to hand over."""
        form = DirectorForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                appointment = accounts.appoint_director(
                    request.user,
                    data["organization"].pk,
                    iin=data["iin"],
                    last_name=data["last_name"],
                    first_name=data["first_name"],
                    patronymic=data["patronymic"],
                    email=data["email"],
                    phone=data["phone"],
                    replace=data["replace"],
                    new_code=data["new_code"],
                    site=request.build_absolute_uri("/"),
                )
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                issued = [appointment.code] if appointment.code else []
                response = _render(request, _("Director appointed"), issued=issued, appointment=appointment)
                response["Cache-Control"] = "no-store"
                return response
        return _render(request, _("Appoint a director"), form)


@admin.register(User, site=site)
class UserAdmin(ReadOnly):
    list_display = ("username", "person", "language", "is_active", "is_staff", "is_demo", "last_login")
    list_filter = ("is_active", "is_staff", "is_demo", "language")
    search_fields = ("username", "=person__iin", "person__last_name")
    fields = ("username", "person", "language", "is_active", "is_staff", "is_superuser", "is_demo", "last_login")


@admin.register(AccountCode, site=site)
class AccountCodeAdmin(ReadOnly):
    list_display = ("person", "purpose", "organization", "created_at", "expires_at", "used_at", "revoked_at")
    list_filter = ("purpose",)
    search_fields = ("=person__iin", "person__last_name")
    exclude = ("digest",)
