"""The messages pages: letters between school and family, and announcements. Parse, call, render.

A refused letter or announcement is shown again with what was typed and the reason beside it.
"""

from __future__ import annotations

from django.contrib import messages as flash  # not the "messages" pages of the URL names
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from birtutas.kernel.errors import ServiceError, raise_refusal
from birtutas.kernel.parsing import to_int
from birtutas.registry.permissions import Actor

from . import message_queries, messaging
from .models import Announcement, Letter

SENT = gettext_lazy("Your message is sent.")


def _limits() -> dict:
    return {"letter_max": Letter.MAX_LENGTH, "title_max": messaging.TITLE_MAX, "text_max": Announcement.MAX_LENGTH}


def _index(request, *, status: int = 200, **typed):
    actor = Actor.for_user(request.user)
    children = message_queries.children_and_teachers(actor)
    context = {
        "conversations": message_queries.conversations(actor),
        "children": children,
        "classes": message_queries.taught_classes(actor),
        "announcements": message_queries.announcements(actor),
        "places": message_queries.announce_places(actor),
        "seen": message_queries.last_letter_seen(actor) if children else 0,
        "typed": typed,
        **_limits(),
    }
    return render(request, "journal/messages/index.html", context, status=status)


@login_required
@require_GET
def index(request):
    """One's conversations, the forms to start one, and the announcements one may read."""
    return _index(request)


@login_required
@require_POST
def write(request):
    """A family writes to one of their child's teachers (the index page's form)."""
    student_id = to_int(request.POST.get("student")) or 0
    teacher_id = to_int(request.POST.get("teacher")) or 0
    text = request.POST.get("text", "")
    try:
        letter = messaging.write_to_teacher(
            request.user, student_id, teacher_id, text, seen=to_int(request.POST.get("seen")) or 0
        )
    except ServiceError as error:
        raise_refusal(error)
        return _index(
            request, status=error.status, error=error.message, student=student_id, teacher=teacher_id, text=text
        )
    flash.success(request, SENT)
    return redirect("messages:conversation", conversation_id=letter.conversation_id)


@login_required
@require_http_methods(["GET", "POST"])
def family(request, student_id: int):
    """A teacher writes to the family of a student they teach; an existing conversation opens instead."""
    page = message_queries.family_page(Actor.for_user(request.user), student_id)
    context = {"page": page, "text": "", **_limits()}
    if request.method == "GET":
        if page.conversation is not None:
            return redirect("messages:conversation", conversation_id=page.conversation.pk)
        return render(request, "journal/messages/family.html", context)
    text = request.POST.get("text", "")
    try:
        letter = messaging.write_to_family(request.user, student_id, text, seen=to_int(request.POST.get("seen")) or 0)
    except ServiceError as error:
        raise_refusal(error)
        context.update(error=error.message, text=text)
        return render(request, "journal/messages/family.html", context, status=error.status)
    flash.success(request, SENT)
    return redirect("messages:conversation", conversation_id=letter.conversation_id)


@login_required
@require_http_methods(["GET", "POST"])
def conversation(request, conversation_id: int):
    """The letters of one conversation, oldest first, and a reply form while it is open."""
    actor = Actor.for_user(request.user)
    page = message_queries.conversation_page(actor, conversation_id)
    context = {"page": page, "text": "", **_limits()}
    if request.method == "POST":
        text = request.POST.get("text", "")
        try:
            messaging.reply(request.user, conversation_id, text, seen=to_int(request.POST.get("seen")) or 0)
        except ServiceError as error:
            raise_refusal(error)
            context.update(error=error.message, text=text)
            return render(request, "journal/messages/conversation.html", context, status=error.status)
        flash.success(request, SENT)
        return redirect("messages:conversation", conversation_id=conversation_id)
    return render(request, "journal/messages/conversation.html", context)


WHOLE_SCHOOL = "all"


@login_required
@require_http_methods(["GET", "POST"])
def announce(request, organization_id: int):
    """The class teacher posts to their class; the school's administration to any class or the whole school."""
    actor = Actor.for_user(request.user)
    targets = message_queries.announce_targets(actor, organization_id)
    context = {
        "targets": targets,
        "seen": message_queries.last_announcement_seen(actor),
        "whole_school": WHOLE_SCHOOL,
        "typed": {},
        **_limits(),
    }
    if request.method == "GET":
        return render(request, "journal/messages/announce.html", context)
    choice = request.POST.get("school_class", "")
    typed = {"school_class": choice, "title": request.POST.get("title", ""), "text": request.POST.get("text", "")}
    try:
        class_id = None if choice == WHOLE_SCHOOL else to_int(choice)
        if choice != WHOLE_SCHOOL and class_id is None:
            raise ServiceError(_("Choose a class or the whole school."))
        messaging.post_announcement(
            request.user,
            organization_id,
            class_id,
            typed["title"],
            typed["text"],
            seen=to_int(request.POST.get("seen")) or 0,
        )
    except ServiceError as error:
        raise_refusal(error)
        context.update(error=error.message, typed=typed)
        return render(request, "journal/messages/announce.html", context, status=error.status)
    flash.success(request, _("The announcement is posted."))
    return redirect("messages:index")
