"""Journal tables: classes, load, timetable, lessons, marks, attendance, grades.

Subjects, learning objectives and grading policies are the curriculum's; they are imported here
so that `from .models import Subject` keeps working.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from birtutas.curriculum.models import GradingPolicy, LearningObjective, Subject
from birtutas.kernel import hlc
from birtutas.kernel.context import Via
from birtutas.kernel.ids import uuid7
from birtutas.kernel.travel import travel_id
from birtutas.registry.models import AcademicYear, Organization, Person, Term
from birtutas.registry.permissions import (
    GuardianOf,
    IsSelfPerson,
    OfficerOfArea,
    Permissions,
    StaffOfOrganization,
)
from birtutas.registry.roles import OFFICER_ROLES

from . import rules
from .permissions import (
    TeachesAssignment,
    TeachesClass,
    TeachesSubject,
    announcement_readers,
    class_readers,
    conversation_parties,
    members_of_organization,
    student_record_readers,
)


class SchoolClass(models.Model):
    """A class such as 7 «Ә» in one academic year."""

    uid = travel_id()

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="classes")
    year = models.ForeignKey(AcademicYear, on_delete=models.PROTECT, related_name="classes")
    grade = models.PositiveSmallIntegerField(_("grade"))
    letter = models.CharField(_("letter"), max_length=3)
    language = models.CharField(_("language of instruction"), max_length=8, choices=Organization.Language.choices)
    class_teacher = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="classes_led"
    )
    # Many schools teach in two (some in three) shifts, each with its own bell schedule.
    shift = models.PositiveSmallIntegerField(_("shift"), default=1)

    permissions = Permissions(
        class_readers(""),
        create=StaffOfOrganization("organization_id"),
        change=StaffOfOrganization("organization_id"),
    )

    class Meta:
        ordering = ["grade", "letter"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "year", "grade", "letter"], name="class_unique_name"),
            models.CheckConstraint(condition=Q(grade__gte=0, grade__lte=12), name="class_grade_range"),
            models.CheckConstraint(condition=Q(shift__gte=1, shift__lte=3), name="class_shift_range"),
        ]

    @property
    def name(self) -> str:
        return f"{self.grade} «{self.letter}»"

    def __str__(self) -> str:
        return self.name


class Enrollment(models.Model):
    uid = travel_id()
    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="enrollments")
    student = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="enrollments")
    # A student who leaves (a transfer, a move) keeps the row and its history; lists show current pupils.
    left_on = models.DateField(_("left on"), null=True, blank=True)

    permissions = Permissions(
        StaffOfOrganization("school_class__organization_id")
        | TeachesClass("school_class")
        | IsSelfPerson("student_id")
        | GuardianOf("student_id"),
        create=StaffOfOrganization("school_class__organization_id"),
        change=StaffOfOrganization("school_class__organization_id"),
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school_class", "student"], name="enrollment_unique")]


class TeachingAssignment(models.Model):
    """Teaching load: who teaches which subject in which class, and how many hours a week."""

    uid = travel_id()

    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="assignments")
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="assignments")
    teacher = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="teaching")
    hours_per_week = models.PositiveSmallIntegerField(_("hours per week"), default=1)

    permissions = Permissions(
        StaffOfOrganization("school_class__organization_id") | TeachesAssignment(""),
        create=StaffOfOrganization("school_class__organization_id"),
        change=StaffOfOrganization("school_class__organization_id"),
        delete=StaffOfOrganization("school_class__organization_id"),
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school_class", "subject"], name="assignment_unique")]

    def __str__(self) -> str:
        return f"{self.school_class.name} · {self.subject.name}"


class TimetableSlot(models.Model):
    """The weekly timetable: one period on one weekday (1 = Monday … 6 = Saturday)."""

    uid = travel_id()

    assignment = models.ForeignKey(TeachingAssignment, on_delete=models.CASCADE, related_name="slots")
    school_class = models.ForeignKey(SchoolClass, on_delete=models.CASCADE, related_name="slots")
    weekday = models.PositiveSmallIntegerField(_("weekday"))
    period = models.PositiveSmallIntegerField(_("period"))
    room = models.CharField(_("room"), max_length=20, blank=True)

    permissions = Permissions(
        class_readers("school_class"),
        create=StaffOfOrganization("school_class__organization_id"),
        change=StaffOfOrganization("school_class__organization_id"),
        delete=StaffOfOrganization("school_class__organization_id"),
    )

    class Meta:
        ordering = ["weekday", "period"]
        constraints = [
            models.UniqueConstraint(fields=["school_class", "weekday", "period"], name="slot_unique_time"),
            models.CheckConstraint(condition=Q(weekday__gte=1, weekday__lte=6), name="slot_weekday_range"),
            models.CheckConstraint(condition=Q(period__gte=1, period__lte=10), name="slot_period_range"),
        ]


class BellPeriod(models.Model):
    """When one period of one shift starts and ends at a school: its bell schedule."""

    uid = travel_id()

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="bell_periods")
    shift = models.PositiveSmallIntegerField(_("shift"), default=1)
    period = models.PositiveSmallIntegerField(_("period"))
    starts = models.TimeField(_("starts"))
    ends = models.TimeField(_("ends"))

    # Nothing personal: whoever belongs to the school may read it; its administration sets it.
    permissions = Permissions(
        members_of_organization("organization_id"),
        create=StaffOfOrganization("organization_id"),
        change=StaffOfOrganization("organization_id"),
        delete=StaffOfOrganization("organization_id"),
    )

    class Meta:
        ordering = ["organization", "shift", "period"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "shift", "period"], name="bell_period_unique"),
            models.CheckConstraint(condition=Q(starts__lt=models.F("ends")), name="bell_period_order"),
            models.CheckConstraint(condition=Q(period__gte=1, period__lte=10), name="bell_period_range"),
            models.CheckConstraint(condition=Q(shift__gte=1, shift__lte=3), name="bell_shift_range"),
        ]


class Lesson(models.Model):
    uid = travel_id()
    assignment = models.ForeignKey(TeachingAssignment, on_delete=models.CASCADE, related_name="lessons")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="lessons")
    date = models.DateField(_("date"))
    period = models.PositiveSmallIntegerField(_("period"))
    topic = models.CharField(_("topic"), max_length=300, blank=True)
    objectives = models.ManyToManyField(LearningObjective, blank=True, related_name="lessons")
    homework = models.TextField(_("homework"), blank=True)
    homework_due = models.DateField(_("homework due"), null=True, blank=True)

    permissions = Permissions(
        StaffOfOrganization("assignment__school_class__organization_id")
        | TeachesAssignment("assignment")
        | IsSelfPerson("assignment__school_class__enrollments__student_id")
        | GuardianOf("assignment__school_class__enrollments__student_id"),
        # The timetable makes lessons (the administration); the subject teacher fills them in.
        create=StaffOfOrganization("assignment__school_class__organization_id"),
        change=TeachesSubject("assignment"),
        delete=StaffOfOrganization("assignment__school_class__organization_id"),
    )

    class Meta:
        ordering = ["date", "period"]
        constraints = [models.UniqueConstraint(fields=["assignment", "date", "period"], name="lesson_unique_time")]
        indexes = [models.Index(fields=["assignment", "term", "date"], name="lesson_journal_idx")]


class SummativeWork(models.Model):
    """A unit summative (БЖБ / СОР) or term summative (ТЖБ / СОЧ), scored in points out of a maximum."""

    uid = travel_id()

    class Kind(models.TextChoices):
        UNIT = "unit", _("unit summative (SAU)")
        TERM = "term", _("term summative (SAT)")

    assignment = models.ForeignKey(TeachingAssignment, on_delete=models.CASCADE, related_name="summatives")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="summatives")
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    max_points = models.PositiveSmallIntegerField(_("maximum points"))
    date = models.DateField(_("date"))

    permissions = Permissions(
        Lesson.permissions.read,
        create=TeachesSubject("assignment"),
        change=TeachesSubject("assignment"),
    )

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(max_points__gte=1), name="summative_max_positive"),
            # A double click or two concurrent submissions make one work, on every database.
            models.UniqueConstraint(fields=["assignment", "term", "kind", "title", "date"], name="summative_unique"),
            models.UniqueConstraint(
                fields=["assignment", "term"], condition=Q(kind="term"), name="summative_one_term_work"
            ),
        ]


class Mark(models.Model):
    """A formative mark (1–10) for a lesson, or points for a summative work."""

    student = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="marks")
    lesson = models.ForeignKey(Lesson, null=True, blank=True, on_delete=models.PROTECT, related_name="marks")
    work = models.ForeignKey(SummativeWork, null=True, blank=True, on_delete=models.PROTECT, related_name="marks")
    value = models.PositiveSmallIntegerField(_("mark"))
    updated_at = models.DateTimeField(auto_now=True)

    permissions = Permissions(
        student_record_readers("lesson__assignment") | student_record_readers("work__assignment"),
        create=TeachesSubject("lesson__assignment") | TeachesSubject("work__assignment"),
        change=TeachesSubject("lesson__assignment") | TeachesSubject("work__assignment"),
        delete=TeachesSubject("lesson__assignment") | TeachesSubject("work__assignment"),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["student", "lesson"], condition=Q(lesson__isnull=False), name="mark_one_per_lesson"
            ),
            models.UniqueConstraint(
                fields=["student", "work"], condition=Q(work__isnull=False), name="mark_one_per_work"
            ),
            models.CheckConstraint(
                condition=(Q(lesson__isnull=False, work__isnull=True, value__gte=1, value__lte=10))
                | Q(lesson__isnull=True, work__isnull=False),
                name="mark_formative_or_summative",
            ),
        ]


class Attendance(models.Model):
    """A deviation from "present" for one student at one lesson; no row means present."""

    class Status(models.TextChoices):
        ILLNESS = rules.ABSENT_ILLNESS, _("absent: illness")
        EXCUSED = rules.ABSENT_EXCUSED, _("absent: other reason")
        UNEXCUSED = rules.ABSENT_UNEXCUSED, _("absent without reason")
        LATE = rules.LATE, _("late")

    student = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="attendance")
    lesson = models.ForeignKey(Lesson, on_delete=models.PROTECT, related_name="attendance")
    status = models.CharField(_("attendance"), max_length=10, choices=Status.choices)
    updated_at = models.DateTimeField(auto_now=True)

    permissions = Permissions(
        student_record_readers("lesson__assignment"),
        create=TeachesSubject("lesson__assignment"),
        change=TeachesSubject("lesson__assignment"),
        delete=TeachesSubject("lesson__assignment"),
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["student", "lesson"], name="attendance_one_per_lesson")]


class MarkEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Journal entries are never changed: a correction is a new entry.")

    def delete(self):
        raise PermissionError("Journal entries are never deleted: a correction is a new entry.")


class MarkEntry(models.Model):
    """One value written into one journal cell, kept forever: the cell's history, and what travels.

    A cell is a student's mark or attendance at a lesson, or points on a summative work. Every write
    (a mark set, corrected or cleared, on this server or another) is a new entry with its own identity
    and a hybrid-logical-clock `stamp`, so two servers' writes never overwrite each other: both are
    kept, and the cell holds the winner, the entry with the greatest (stamp, uid) among those that
    count (see `rules.cell_winner`). The `Mark` and `Attendance` rows are derived from the entries
    (`journal.entries.settle`); every page reads those.
    """

    class Field(models.TextChoices):  # never shown: a cell's kind
        MARK = "mark"
        ATTENDANCE = "attendance"
        POINTS = "points"

    # A local row number like every travelling record's; `uid` is the entry's identity everywhere.
    uid = travel_id()
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    lesson = models.ForeignKey(Lesson, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    work = models.ForeignKey(SummativeWork, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    field = models.CharField(max_length=10, choices=Field.choices)
    # None clears the cell; a mark or points as decimal text, an attendance status by its code.
    value = models.CharField(max_length=16, null=True, blank=True)
    stamp = models.BigIntegerField()  # kernel.hlc
    # Written by an approved change request into a closed term: it counts whatever the closure.
    approved = models.BooleanField(default=False)
    actor = models.ForeignKey("registry.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    via = models.CharField(max_length=10, choices=Via.choices, default=Via.COMMAND)
    reason = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    objects = MarkEntryQuerySet.as_manager()

    permissions = Permissions(
        student_record_readers("lesson__assignment") | student_record_readers("work__assignment"),
        create=TeachesSubject("lesson__assignment") | TeachesSubject("work__assignment"),
    )

    class Meta:
        indexes = [
            models.Index(fields=["student", "lesson"], name="entry_lesson_cell_idx"),
            models.Index(fields=["student", "work"], name="entry_work_cell_idx"),
            models.Index(fields=["organization", "stamp"], name="entry_school_stamp_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(field__in=["mark", "attendance"], lesson__isnull=False, work__isnull=True)
                | Q(field="points", lesson__isnull=True, work__isnull=False),
                name="entry_lesson_or_work",
            ),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Journal entries are never changed: a correction is a new entry.")
        if self.uid is None:
            self.uid = uuid7()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Journal entries are never deleted: a correction is a new entry.")

    @property
    def cell(self) -> tuple[int, int | None, int | None, str]:
        return (self.student_id, self.lesson_id, self.work_id, self.field)


class TermGrade(models.Model):
    student = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="term_grades")
    assignment = models.ForeignKey(TeachingAssignment, on_delete=models.PROTECT, related_name="term_grades")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="grades")
    percent = models.DecimalField(max_digits=5, decimal_places=2)
    grade = models.PositiveSmallIntegerField()
    policy = models.ForeignKey(GradingPolicy, on_delete=models.PROTECT, related_name="+")
    computed_at = models.DateTimeField(auto_now=True)

    permissions = student_record_readers("assignment")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "assignment", "term"], name="term_grade_unique"),
        ]


class YearGrade(models.Model):
    student = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="year_grades")
    assignment = models.ForeignKey(TeachingAssignment, on_delete=models.PROTECT, related_name="year_grades")
    grade = models.PositiveSmallIntegerField()
    computed_at = models.DateTimeField(auto_now=True)

    permissions = student_record_readers("assignment")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["student", "assignment"], name="year_grade_unique")]


class TermClosureQuerySet(models.QuerySet):
    def in_force(self):
        return self.filter(reopened_at__isnull=True)


class TermClosure(models.Model):
    """A term closed for one organization: its marks are locked and its grades final.

    Reopening keeps the row (who reopened it, when, why), so a term closed, reopened and closed
    again has two rows, one of them in force.
    """

    uid = travel_id()

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="closed_terms")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="closures")
    closed_by = models.ForeignKey("registry.User", null=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(auto_now_add=True)
    reopened_by = models.ForeignKey("registry.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopen_reason = models.TextField(blank=True)
    # The hybrid-logical-clock moment of the closing: an entry of the term stamped later, unless
    # approved, arrived from another server after the closing and is held (see `rules.entry_held`).
    stamp = models.BigIntegerField(default=hlc.stamp)

    objects = TermClosureQuerySet.as_manager()

    # The school closes its own term; only an officer of its district or region reopens it.
    permissions = Permissions(
        StaffOfOrganization("organization_id") | OfficerOfArea("organization_id", OFFICER_ROLES),
        create=StaffOfOrganization("organization_id"),
        change=OfficerOfArea("organization_id", OFFICER_ROLES),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "term"], condition=Q(reopened_at__isnull=True), name="closure_unique"
            )
        ]


class ChangeRequest(models.Model):
    """A teacher's request to change a cell of a closed term; applied only when the director approves."""

    uid = travel_id()

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for the director")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    student = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    lesson = models.ForeignKey(Lesson, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    work = models.ForeignKey(SummativeWork, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    new_value = models.CharField(_("new value"), max_length=10, blank=True)
    reason = models.TextField(_("reason"))
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey("registry.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    permissions = Permissions(
        StaffOfOrganization("organization_id") | IsSelfPerson("requested_by__person_id"),
        create=TeachesSubject("lesson__assignment") | TeachesSubject("work__assignment"),
        change=StaffOfOrganization("organization_id"),
    )

    class Meta:
        ordering = ["-requested_at"]


# ------------------------------------------------------------------ school and family


class Conversation(models.Model):
    """Letters about one student between the student's guardians and one of the student's teachers.

    One conversation per student and teacher; every guardian of the student takes part in it. The
    student's teacher is whoever teaches a subject in one of the student's current classes or leads
    that class: anyone else is "not found", from either side.
    """

    uid = travel_id()

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    student = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    teacher = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    last_letter_at = models.DateTimeField(null=True, blank=True, db_index=True)

    permissions = Permissions(
        conversation_parties(""),
        create=conversation_parties(""),
        change=conversation_parties(""),
    )

    class Meta:
        ordering = ["-last_letter_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["student", "teacher"], name="conversation_unique")]


class Letter(models.Model):
    """One letter in a conversation; letters are never edited or deleted."""

    uid = travel_id()

    MAX_LENGTH = 2000

    conversation = models.ForeignKey(Conversation, on_delete=models.PROTECT, related_name="letters")
    author = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("message"))
    sent_at = models.DateTimeField(auto_now_add=True)

    permissions = Permissions(
        conversation_parties("conversation"),
        create=conversation_parties("conversation"),
    )

    class Meta:
        ordering = ["sent_at", "id"]
        indexes = [models.Index(fields=["conversation", "sent_at"], name="letter_thread_idx")]


class Announcement(models.Model):
    """A notice to one class (its students and families) or, without a class, to the whole school."""

    uid = travel_id()

    MAX_LENGTH = 4000

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    school_class = models.ForeignKey(
        SchoolClass, null=True, blank=True, on_delete=models.PROTECT, related_name="announcements"
    )
    author = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"))
    posted_at = models.DateTimeField(auto_now_add=True, db_index=True)

    permissions = Permissions(
        announcement_readers(),
        # The class teacher posts to their class; the school's administration to any class or the school.
        create=StaffOfOrganization("organization_id") | IsSelfPerson("school_class__class_teacher_id"),
    )

    class Meta:
        ordering = ["-posted_at", "-id"]


class ImportJob(models.Model):
    """One CSV import of a school: the files as uploaded, the preview shown, its confirmation and progress.

    Nothing is written to the school's records until a director confirms the preview by its
    `digest` (of the files and of the preview); the import then checks again and writes only if it
    would still do exactly that. The files are kept only until the import is done or refused.
    """

    class State(models.TextChoices):
        CHECKING = "checking", _("checking the files")
        INVALID = "invalid", _("rows need correcting")
        PREVIEW = "preview", _("waiting for confirmation")
        APPLYING = "applying", _("importing")
        DONE = "done", _("imported")
        FAILED = "failed", _("failed")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    year = models.ForeignKey(AcademicYear, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey("registry.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The language of the row errors, which are written when the files are checked.
    language = models.CharField(max_length=8, default="kk")
    files = models.JSONField(default=dict)  # file name -> base64 of the content, as uploaded
    files_digest = models.CharField(max_length=64, db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.CHECKING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_checked = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)  # [file, line, message] of each row to correct
    preview = models.JSONField(null=True, blank=True)
    digest = models.CharField(max_length=64, blank=True)
    confirmed_by = models.ForeignKey(
        "registry.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField(blank=True)  # why the last confirmation was refused, or why the import failed
    report = models.JSONField(null=True, blank=True)

    permissions = Permissions(
        StaffOfOrganization("organization_id"),
        create=StaffOfOrganization("organization_id"),
        change=StaffOfOrganization("organization_id"),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
