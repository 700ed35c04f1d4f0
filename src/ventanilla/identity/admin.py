from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from . import assurance
from .models import (
    ApiToken,
    AssistedSession,
    IdentityCheck,
    RecoveryCode,
    StaffRole,
    TotpDevice,
    User,
    WebAuthnCredential,
)
from .oidc import admin as oidc_admin  # noqa: F401  (the relying parties' admin)
from .selectors import actor_for
from .views import auth as auth_views

# One door: operators sign in (and out) through the same pages as everyone, with the same throttling and
# second factors; the admin still requires is_staff.
admin.site.login = auth_views.admin_sign_in
admin.site.has_permission = auth_views.admin_has_permission
admin.site.logout = auth_views.admin_sign_out


@admin.register(User)
class PlatformUserAdmin(UserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_active"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "token_hash", "created_at", "last_used_at"]
    search_fields = ["name", "user__username"]

    def has_add_permission(self, request):
        return False  # tokens are shown once, so they are issued with `ventanilla createtoken`


# --- Second factors and assurance: secrets and hashes never shown; records of what officials did are read-only


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TotpDevice)
class TotpDeviceAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "confirmed_at", "last_used_at"]
    fields = ["name", "user", "confirmed_at", "created_at", "last_used_at"]
    readonly_fields = ["user", "confirmed_at", "created_at", "last_used_at"]
    search_fields = ["name", "user__username"]

    def has_add_permission(self, request):
        return False  # the secret is made and confirmed by the person on the security page


@admin.register(WebAuthnCredential)
class WebAuthnCredentialAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "created_at", "last_used_at"]
    fields = ["name", "user", "credential_id", "sign_count", "transports", "created_at", "last_used_at"]
    readonly_fields = ["user", "credential_id", "sign_count", "transports", "created_at", "last_used_at"]
    search_fields = ["name", "user__username"]

    def has_add_permission(self, request):
        return False  # registered by the person's browser


@admin.register(RecoveryCode)
class RecoveryCodeAdmin(ReadOnlyAdmin):
    list_display = ["user", "created_at", "used_at"]
    fields = ["user", "created_at", "used_at"]
    search_fields = ["user__username"]


@admin.register(StaffRole)
class StaffRoleAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "institution", "place", "granted_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__last_name", "place"]
    autocomplete_fields = ["user"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        granted = assurance.grant_staff_role(
            user=obj.user,
            role=obj.role,
            institution=obj.institution,
            place=obj.place,
            actor=actor_for(request.user),
        )
        obj.pk = granted.pk


@admin.register(IdentityCheck)
class IdentityCheckAdmin(ReadOnlyAdmin):
    list_display = ["person", "official", "document_type", "place", "checked_at"]
    list_filter = ["document_type"]
    search_fields = ["person__username", "official__username", "place"]


@admin.register(AssistedSession)
class AssistedSessionAdmin(ReadOnlyAdmin):
    list_display = ["official", "citizen", "channel", "place", "started_at", "ended_at"]
    list_filter = ["channel"]
    search_fields = ["official__username", "citizen__username", "place"]
