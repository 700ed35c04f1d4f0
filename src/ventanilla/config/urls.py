from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from ventanilla.config.api import api
from ventanilla.documents.views import public as documents
from ventanilla.web import views as web_views

urlpatterns = [
    path("healthz", web_views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("", include("ventanilla.identity.oidc.urls")),
    # The documents' machine-facing addresses: the RFC 3161 timestamp authority and each issuer's SD-JWT VC metadata.
    path("tsa", documents.timestamp, name="tsa"),
    path(".well-known/jwt-vc-issuer/issuers/<str:code>", documents.issuer_metadata, name="jwt-vc-issuer"),
    path("issuers/<str:code>", documents.issuer, name="issuer"),
]
urlpatterns += i18n_patterns(
    path("", include("ventanilla.web.urls")),
    path("", include("ventanilla.catalogue.urls")),
    path("", include("ventanilla.identity.urls")),
    path("", include("ventanilla.cases.urls")),
    path("", include("ventanilla.notify.urls")),
    path("", include("ventanilla.payments.urls")),
    path("", include("ventanilla.documents.urls")),
    prefix_default_language=False,
)

handler404 = "ventanilla.web.views.not_found"
handler500 = "ventanilla.web.views.server_error"
