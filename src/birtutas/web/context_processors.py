"""What the layout needs on every page: the navigation for the signed-in person's roles."""

from django.conf import settings

from birtutas.registry.permissions import Actor


def navigation(request):
    user = getattr(request, "user", None)
    actor = Actor.for_user(user)
    roles = actor.roles()
    return {
        "nav": {
            "journal": bool(roles & {"teacher", "class_teacher"}),
            "diary": bool(roles & {"student"}) or bool(actor.is_authenticated and actor.ward_ids),
            "school": bool(roles & {"director", "deputy"}),
            "area": bool(roles & {"district_officer", "region_officer", "ministry_analyst"}),
        },
        "demo_mode": settings.DEMO_MODE,
        "unread_count": (user.notifications.filter(read_at__isnull=True).count() if actor.is_authenticated else 0),
    }
