from django.contrib import admin

from .models import (
    CatalogueRole,
    ChangeLogEntry,
    ChangeRequest,
    Institution,
    Office,
    Procedure,
    SimplificationPlanItem,
    Topic,
    UnlistedDocumentReport,
)


class OfficeInline(admin.TabularInline):
    model = Office
    extra = 0


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = ["code", "name_es", "kind", "province"]
    list_filter = ["kind", "province"]
    search_fields = ["code", "name_es", "name_en", "acronym"]
    inlines = [OfficeInline]


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["code", "name_es", "name_en", "kind"]
    list_filter = ["kind"]


@admin.register(Procedure)
class ProcedureAdmin(admin.ModelAdmin):
    """Read-only here: the catalogue is a contract, so procedures change only through approved change requests
    (the pages under /gestion/cambios/ or the API)."""

    list_display = ["code", "title_es", "institution", "level", "status", "illustrative"]
    list_filter = ["status", "level", "audience", "generated", "institution__kind"]
    search_fields = ["code", "title_es", "title_en"]
    list_select_related = ["institution"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CatalogueRole)
class CatalogueRoleAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "institution"]
    list_filter = ["role"]
    autocomplete_fields = ["institution"]


@admin.register(ChangeRequest)
class ChangeRequestAdmin(admin.ModelAdmin):
    list_display = ["__str__", "institution", "status", "submitted_by", "submitted_at", "reviewed_by"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in ChangeRequest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChangeLogEntry)
class ChangeLogEntryAdmin(admin.ModelAdmin):
    list_display = ["procedure", "at"]
    readonly_fields = ["procedure", "change_request", "at", "summary", "justification"]

    def has_add_permission(self, request):
        return False


@admin.register(UnlistedDocumentReport)
class UnlistedDocumentReportAdmin(admin.ModelAdmin):
    list_display = ["reference", "institution", "procedure", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["reference", "document", "office"]
    readonly_fields = [
        "reference",
        "procedure",
        "institution",
        "office",
        "document",
        "asked_on",
        "contact_email",
        "answered_by",
        "answered_at",
        "idempotency_key",
    ]


@admin.register(SimplificationPlanItem)
class SimplificationPlanItemAdmin(admin.ModelAdmin):
    list_display = ["procedure", "year", "current_level", "target_level", "reengineering"]
    list_filter = ["year", "reengineering"]
