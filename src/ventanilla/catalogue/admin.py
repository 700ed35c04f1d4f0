"""Operators' view of the catalogue. What the catalogue publishes is read-only here: procedures change only
through approved change requests, reports are answered and plans set on the officials' pages, so every write
goes through the services and is audited."""

from django.contrib import admin

from ventanilla.core.admin import ReadOnlyAdmin

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


@admin.register(CatalogueRole)
class CatalogueRoleAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "institution"]
    list_filter = ["role"]
    autocomplete_fields = ["institution"]


@admin.register(Procedure)
class ProcedureAdmin(ReadOnlyAdmin):
    list_display = ["code", "title_es", "institution", "level", "status", "illustrative"]
    list_filter = ["status", "level", "audience", "generated", "institution__kind"]
    search_fields = ["code", "title_es", "title_en"]
    list_select_related = ["institution"]
    show_full_result_count = False


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "institution", "status", "submitted_by", "submitted_at", "reviewed_by"]
    list_filter = ["status", "kind"]


@admin.register(ChangeLogEntry)
class ChangeLogEntryAdmin(ReadOnlyAdmin):
    list_display = ["procedure", "at"]


@admin.register(UnlistedDocumentReport)
class UnlistedDocumentReportAdmin(ReadOnlyAdmin):
    list_display = ["reference", "institution", "procedure", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["reference", "document", "office"]


@admin.register(SimplificationPlanItem)
class SimplificationPlanItemAdmin(ReadOnlyAdmin):
    list_display = ["procedure", "year", "current_level", "target_level", "reengineering"]
    list_filter = ["year", "reengineering"]
