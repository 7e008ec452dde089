"""Curriculum tables: subjects, learning objectives of the national curriculum, grading policies.

These are national reference data, the same for every school: anyone signed in reads them, and
they change only through `services` (the curriculum loader, a ministry order), never by a school.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from birtutas.kernel.travel import travel_id
from birtutas.registry.models import LocalizedNameMixin
from birtutas.registry.permissions import AnyoneSignedIn

from . import rules


class Subject(LocalizedNameMixin):
    uid = travel_id()
    code = models.CharField(max_length=20, unique=True)

    permissions = AnyoneSignedIn()

    class Meta:
        ordering = ["name_kk"]


class LearningObjective(models.Model):
    """A curriculum learning objective, coded grade.section.subsection.number (7.1.2.3)."""

    uid = travel_id()

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="objectives")
    grade = models.PositiveSmallIntegerField()
    code = models.CharField(max_length=20)
    text_kk = models.TextField()
    text_ru = models.TextField()
    # The section of the programme the objective belongs to ("Сандар" / "Числа"), for grouping.
    section_kk = models.CharField(_("section (Kazakh)"), max_length=200, blank=True)
    section_ru = models.CharField(_("section (Russian)"), max_length=200, blank=True)
    # Where the wording comes from (the ministry's order, or a note that it is sample text).
    source = models.CharField(_("source"), max_length=300, blank=True)

    permissions = AnyoneSignedIn()

    class Meta:
        ordering = ["subject", "grade", "code"]
        constraints = [models.UniqueConstraint(fields=["subject", "grade", "code"], name="objective_unique_code")]

    @property
    def text(self) -> str:
        return self.text_ru if (get_language() or "kk").startswith("ru") else self.text_kk

    @property
    def section(self) -> str:
        return self.section_ru if (get_language() or "kk").startswith("ru") else self.section_kk

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


class GradingPolicy(models.Model):
    """A versioned set of grading rules with the date from which it applies."""

    uid = travel_id()

    code = models.CharField(max_length=40)
    version = models.PositiveIntegerField()
    effective_from = models.DateField()
    rules = models.JSONField()
    source = models.CharField(max_length=300, blank=True)

    permissions = AnyoneSignedIn()

    class Meta:
        ordering = ["-effective_from", "-version"]
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="policy_unique_version")]

    def as_rules(self) -> rules.GradingRules:
        return rules.GradingRules.from_json(self.rules)
