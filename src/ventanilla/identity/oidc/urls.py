"""The provider's protocol endpoints: fixed addresses, outside the language prefixes (services configure them
once). The consent page and the unreachable-level page are ordinary localised pages in identity/urls.py."""

from django.urls import path

from . import views

app_name = "oidc"

urlpatterns = [
    path(".well-known/openid-configuration", views.discovery, name="discovery"),
    path("oidc/jwks", views.jwks, name="jwks"),
    path("oidc/authorize", views.authorize, name="authorize"),
    path("oidc/token", views.token, name="token"),
    path("oidc/userinfo", views.userinfo, name="userinfo"),
    path("oidc/logout", views.logout, name="logout"),
    path("oidc/logout/confirm", views.logout_confirm, name="logout-confirm"),
]
