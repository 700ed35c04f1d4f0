"""{% online_service procedure %}: on the catalogue's procedure page, the way into its online service (when one
is published) and the level the service delivers beside the catalogue's. The catalogue loads this tag from its
template, so the catalogue's code never imports cases."""

from django import template

from .. import selectors
from ..views.service_pages import level_comparison

register = template.Library()


@register.inclusion_tag("cases/service/_online_service.html")
def online_service(procedure):
    version = selectors.published_version(procedure.code)
    if version is None:
        return {"version": None}
    return {"version": version, "procedure": procedure, "level": level_comparison(version)}
