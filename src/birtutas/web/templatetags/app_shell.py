"""The stylesheet of a page that may be the first one opened on a slow link (see `birtutas.web.shell`)."""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from birtutas.web import shell

register = template.Library()
# The request attribute that tells the Content-Security-Policy middleware which inline styles to allow.
INLINE_STYLES = "birtutas_inline_styles"


@register.simple_tag(takes_context=True)
def first_visit_stylesheet(context):
    """The critical CSS in the page, unless the service worker asks (it has the stylesheet cached)."""
    request = context.get("request")
    if request is None or shell.has_shell(request):
        return format_html('<link rel="stylesheet" href="{}">', static(shell.STYLESHEET))
    found = shell.shell()
    setattr(request, INLINE_STYLES, [*getattr(request, INLINE_STYLES, []), found["source"]])
    # Our own file, never user input; "</" cannot occur in it unescaped (checked by the tests).
    return mark_safe(f"<style>{found['critical']}</style>")  # noqa: S308
