from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from ventanilla.catalogue import selectors as catalogue


def home(request):
    all_topics = catalogue.topics()
    return render(
        request,
        "web/home.html",
        {
            "levels": catalogue.level_summary(),
            "published": catalogue.published_procedures().count(),
            "life_events": [t for t in all_topics if t.kind == "life_event"],
        },
    )


def accessibility(request):
    return render(request, "web/accessibility.html")


@never_cache
def healthz(request):
    """For load balancers: the process answers and its database does."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


def not_found(request, exception=None):
    return render(request, "web/404.html", status=404)


def server_error(request):
    return render(request, "web/500.html", status=500)
