"""Operators' view of documents: certificates (public parts), what was issued, share links, credentials, and the
trust list of foreign issuers, which is where operators add another country's issuer."""

from django.contrib import admin

from .models import Certificate, Credential, Document, DocumentEvent, ShareLink, StatusList, TrustedIssuer


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ["subject", "kind", "institution", "serial", "not_after", "retired_at"]
    list_filter = ["kind"]
    readonly_fields = [field.name for field in Certificate._meta.fields]


class EventInline(admin.TabularInline):
    model = DocumentEvent
    extra = 0
    readonly_fields = ["kind", "actor", "text", "at"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "institution", "holder_name", "valid_from", "expires_at", "revoked_at"]
    list_filter = ["kind", "institution"]
    search_fields = ["code", "holder_name", "source"]
    readonly_fields = [field.name for field in Document._meta.fields]
    inlines = [EventInline]


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ["document", "created_at", "expires_at", "withdrawn_at", "opened"]
    readonly_fields = ["document", "token", "created_at", "expires_at", "withdrawn_at", "opened"]


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    list_display = ["document", "vct", "status_list", "index", "issued_at"]
    readonly_fields = ["document", "vct", "status_list", "index", "issued_at"]


@admin.register(StatusList)
class StatusListAdmin(admin.ModelAdmin):
    list_display = ["id", "institution", "used", "updated_at"]
    readonly_fields = ["institution", "used", "updated_at"]
    exclude = ["bits"]


@admin.register(TrustedIssuer)
class TrustedIssuerAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "credential_issuer", "added_at", "removed_at"]
    list_filter = ["country"]
