"""Writing between school and family: letters about a student, and announcements to a class or a school.

A family writes to any teacher of their child (a subject of the child's current class, or its
class teacher) and such a teacher to the family; one conversation per student and teacher, which
every guardian of the student reads. Writing to anyone else is "not found", and writes nothing.

A second submission of the same form never makes a second letter. Each form carries the newest
letter its page showed (`seen`); a letter whose author, conversation and text equal one written
after that is the same letter sent twice (a double tap, a retry on a slow link, the same form in
two tabs) and is answered with the first. Unlike a time window this holds however slow the link,
and a letter deliberately repeated from a fresh page is still written. The conversation's row is
locked first, so two submissions at once queue and the second finds the first.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from birtutas.kernel import notify
from birtutas.kernel.audit import record
from birtutas.kernel.context import Acting, service
from birtutas.kernel.errors import Conflict, NotFound, ServiceError
from birtutas.kernel.events import Event
from birtutas.registry.models import Guardianship, Organization, Person, User
from birtutas.registry.permissions import Action, Actor, require, visible

from . import message_queries
from .models import Announcement, Conversation, Letter, SchoolClass

LETTER_LIMIT = gettext_lazy(
    "A message must not be empty and may have at most %(limit)d characters (this one has %(length)d)."
)
TITLE_LIMIT = gettext_lazy(
    "The title must not be empty and may have at most %(limit)d characters (this one has %(length)d)."
)
TEXT_LIMIT = gettext_lazy(
    "The announcement must not be empty and may have at most %(limit)d characters (this one has %(length)d)."
)
CLOSED = gettext_lazy("This teacher no longer teaches the student, so no new letters can be written here.")
NO_FAMILY = gettext_lazy("No parent or guardian of this student is on record, so there is nobody to write to.")
TITLE_MAX = Announcement._meta.get_field("title").max_length

# ------------------------------------------------------------------ rules (pure)


def clean_text(text: str | None) -> str:
    """What was typed, as it is kept: line breaks as one "\\n" (a browser sends "\\r\\n"), no blank edges."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def check_length(text: str, limit: int, refusal) -> str:
    """`text` if it has 1 to `limit` characters, else the refusal, naming the limit."""
    if not text or len(text) > limit:
        raise ServiceError(refusal % {"limit": limit, "length": len(text)})
    return text


# ------------------------------------------------------------------ letters


@service
def write_to_teacher(user: User, student_id: int, teacher_id: int, text: str, *, seen: int = 0) -> Letter:
    """A parent or guardian writes to one of their child's teachers about the child."""
    actor = Actor.for_user(user)
    if student_id not in actor.ward_ids or teacher_id == actor.person_id:
        raise NotFound()
    school_class = message_queries.teaches(teacher_id, student_id)
    if school_class is None:
        raise NotFound()
    text = check_length(clean_text(text), Letter.MAX_LENGTH, LETTER_LIMIT)
    conversation = _conversation(school_class, student_id, teacher_id)
    return _write_letter(user, actor, conversation, text, seen)


@service
def write_to_family(user: User, student_id: int, text: str, *, seen: int = 0) -> Letter:
    """A teacher writes to the family of a student they teach."""
    actor = Actor.for_user(user)
    school_class = message_queries.teaches(actor.person_id, student_id)
    if school_class is None:
        raise NotFound()
    if not Guardianship.objects.filter(student_id=student_id).exists():
        raise Conflict(NO_FAMILY)
    text = check_length(clean_text(text), Letter.MAX_LENGTH, LETTER_LIMIT)
    conversation = _conversation(school_class, student_id, actor.person_id)
    return _write_letter(user, actor, conversation, text, seen)


@service
def reply(user: User, conversation_id: int, text: str, *, seen: int = 0) -> Letter:
    """Either side writes in a conversation, while its teacher still teaches the student."""
    actor = Actor.for_user(user)
    conversation = visible(Conversation, actor).select_for_update().filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound()
    if message_queries.teaches(conversation.teacher_id, conversation.student_id) is None:
        raise Conflict(CLOSED)
    text = check_length(clean_text(text), Letter.MAX_LENGTH, LETTER_LIMIT)
    return _write_letter(user, actor, conversation, text, seen)


def _conversation(school_class: SchoolClass, student_id: int, teacher_id: int) -> Conversation:
    """The conversation of a student and a teacher, locked; made by the first letter (one, however many race)."""
    conversation = Conversation.objects.select_for_update().filter(student_id=student_id, teacher_id=teacher_id).first()
    if conversation is not None:
        return conversation
    try:
        with transaction.atomic():
            return Conversation.objects.create(
                organization_id=school_class.organization_id, student_id=student_id, teacher_id=teacher_id
            )
    except IntegrityError:
        return Conversation.objects.select_for_update().get(student_id=student_id, teacher_id=teacher_id)


def _write_letter(user: User, actor: Actor, conversation: Conversation, text: str, seen: int) -> Letter:
    letter = Letter(conversation=conversation, author=user, text=text)
    require(actor, Action.CREATE, letter)
    again = Letter.objects.filter(conversation=conversation, author=user, text=text, pk__gt=seen or 0).first()
    if again is not None:
        return again
    letter.save()
    conversation.last_letter_at = letter.sent_at
    conversation.save(update_fields=["last_letter_at"])
    # The letter itself stays in the conversation: the audit keeps who wrote, when, about whom, and its length.
    record(
        Acting.of(user),
        Event.MESSAGE_SEND,
        f"{conversation.pk}:{letter.pk}",
        after={"length": len(text)},
        organization_id=conversation.organization_id,
        person_id=conversation.student_id,
    )
    _tell_the_other_side(user, conversation)
    return letter


def _tell_the_other_side(user: User, conversation: Conversation) -> None:
    """One notice per conversation and reader: each new letter replaces it, unread again."""
    if user.person_id == conversation.teacher_id:
        readers = User.objects.filter(person__wards__student_id=conversation.student_id)
    else:
        readers = User.objects.filter(person_id=conversation.teacher_id)
    reader_ids = list(readers.filter(is_active=True).exclude(pk=user.pk).values_list("pk", flat=True))
    if not reader_ids:
        return
    author = user.display_name
    student = Person.objects.only("last_name", "first_name").get(pk=conversation.student_id)

    def render() -> str:
        return _("%(author)s wrote about %(student)s.") % {"author": author, "student": student.short_name}

    notify.send(
        [
            notify.Message(
                user_id=uid,
                kind="letter",
                render=render,
                link=reverse("messages:conversation", args=[conversation.pk]),
                key=f"conversation:{conversation.pk}",
            )
            for uid in reader_ids
        ]
    )


# ------------------------------------------------------------------ announcements


@service
def post_announcement(
    user: User, organization_id: int, school_class_id: int | None, title: str, text: str, *, seen: int = 0
) -> Announcement:
    """The class teacher posts to their class; the school's administration to any class, or (None) the school."""
    actor = Actor.for_user(user)
    targets = message_queries.announce_targets(actor, organization_id)
    school_class = None
    if school_class_id is None:
        if not targets.whole_school:
            raise NotFound()
    else:
        school_class = next((c for c in targets.classes if c.pk == school_class_id), None)
        if school_class is None:
            raise NotFound()
    title = check_length(clean_text(title), TITLE_MAX, TITLE_LIMIT)
    text = check_length(clean_text(text), Announcement.MAX_LENGTH, TEXT_LIMIT)
    announcement = Announcement(
        organization=targets.organization, school_class=school_class, author=user, title=title, text=text
    )
    require(actor, Action.CREATE, announcement)
    # Two submissions at once queue on the school's row; the second finds the first (see the module's note).
    list(Organization.objects.select_for_update().filter(pk=organization_id).values_list("pk"))
    again = Announcement.objects.filter(
        organization_id=organization_id,
        school_class=school_class,
        author=user,
        title=title,
        text=text,
        pk__gt=seen or 0,
    ).first()
    if again is not None:
        return again
    announcement.save()
    record(
        Acting.of(user),
        Event.ANNOUNCEMENT_POST,
        str(announcement.pk),
        after={"class": school_class_id, "title": title, "length": len(text)},
        organization_id=organization_id,
    )
    author = user.display_name

    def render() -> str:
        return _("Announcement from %(author)s: %(title)s") % {"author": author, "title": title}

    link = f"{reverse('messages:index')}#announcement-{announcement.pk}"
    notify.send(
        [
            notify.Message(user_id=uid, kind="announcement", render=render, link=link)
            for uid in message_queries.announcement_recipients(announcement)
        ]
    )
    return announcement
