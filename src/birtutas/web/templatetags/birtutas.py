"""Template filters shared by every page."""

from django import template
from django.utils.formats import date_format

from birtutas.registry.rules import mask_iin as _mask_iin

register = template.Library()


@register.filter
def mask_iin(iin: str) -> str:
    """Lists show a masked IIN: enough to tell two namesakes apart, never the number itself."""
    return _mask_iin(iin or "")


@register.filter
def told_apart(person, namesakes=None) -> str:
    """The short name, with the birth date when someone else in the same list shares it (`namesakes`)."""
    name = person.short_name
    if namesakes and person.pk in namesakes and person.birth_date:
        return f"{name} ({date_format(person.birth_date, 'SHORT_DATE_FORMAT')})"
    return name
