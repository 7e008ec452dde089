"""Every role a person can hold, in one enumeration; no code spells a role as a string."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    STUDENT = "student", _("student")
    GUARDIAN = "guardian", _("parent or guardian")
    TEACHER = "teacher", _("teacher")
    CLASS_TEACHER = "class_teacher", _("class teacher")
    DIRECTOR = "director", _("director")
    DEPUTY = "deputy", _("deputy director")
    DISTRICT_OFFICER = "district_officer", _("district education officer")
    REGION_OFFICER = "region_officer", _("region education officer")
    MINISTRY_ANALYST = "ministry_analyst", _("ministry analyst")
    SYSADMIN = "sysadmin", _("system administrator")


# The school's administration: runs the school's accounts, calendar, timetable, load and closing.
SCHOOL_ADMIN_ROLES = (Role.DIRECTOR, Role.DEPUTY)
TEACHING_ROLES = (Role.TEACHER, Role.CLASS_TEACHER)
# Officers and analysts above the schools: aggregates, and reopening a closed term.
AREA_ROLES = (Role.DISTRICT_OFFICER, Role.REGION_OFFICER, Role.MINISTRY_ANALYST)
# Officers who may reopen a term or register organizations in their area.
OFFICER_ROLES = (Role.DISTRICT_OFFICER, Role.REGION_OFFICER)
