"""Template filters shared by every page."""

from django import template

from birtutas.registry.rules import mask_iin as _mask_iin

register = template.Library()


@register.filter
def mask_iin(iin: str) -> str:
    """Lists show a masked IIN: enough to tell two namesakes apart, never the number itself."""
    return _mask_iin(iin or "")
