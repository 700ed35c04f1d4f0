from django.conf import settings
from django.urls import translate_url
from django.utils.translation import get_language


def site(request):
    """Site name and the link to this same page in the other language."""
    current = (get_language() or "es")[:2]
    other = "en" if current == "es" else "es"
    return {
        "site_name": settings.VENTANILLA_SITE_NAME,
        "other_language": other,
        "other_language_name": dict(settings.LANGUAGES)[other],
        "other_language_url": translate_url(request.get_full_path(), other),
    }
