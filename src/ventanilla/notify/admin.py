"""Notifications in the Django admin, for operators. A sending service is created through notify.services (so it
is audited) and its settings (rate limit, sender, stopped or not) edited here; keys are revoked, and templates
archived, with actions that call the services. Keys, template versions, messages and preferences are read-only:
keys are made where their secret can be shown once, texts change by new versions, and a person's preferences
are theirs."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ventanilla.core.admin import ReadOnlyAdmin
from ventanilla.identity.selectors import actor_for

from . import services
from .models import ApiKey, Message, Preference, SendingService, Template, TemplateVersion


@admin.register(SendingService)
class SendingServiceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_es", "institution", "rate_limit_per_minute", "active"]
    list_filter = ["active"]
    list_select_related = ["institution"]
    search_fields = ["slug", "name_es", "name_en", "institution__code"]
    fields = [
        "slug",
        "name_es",
        "name_en",
        "institution",
        "reply_to",
        "sms_sender",
        "rate_limit_per_minute",
        "active",
        "created_at",
    ]
    readonly_fields = ["created_at"]

    def get_readonly_fields(self, request, obj=None):
        # The slug is how the API and the pages name it: fixed once created.
        return [*self.readonly_fields, "slug"] if obj else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False  # its messages keep it; stop it instead

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.create_sending_service(
            slug=obj.slug,
            name_es=obj.name_es,
            name_en=obj.name_en,
            institution=obj.institution,
            rate_limit_per_minute=obj.rate_limit_per_minute,
            actor=actor_for(request.user),
        )
        SendingService.objects.filter(pk=created.pk).update(
            reply_to=obj.reply_to, sms_sender=obj.sms_sender, active=obj.active
        )
        obj.pk = created.pk


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "service",
        "kind",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["kind", "service"]
    list_select_related = ["service"]
    search_fields = ["name", "prefix", "service__slug"]
    fields = [*list_display[:5], "secret_hash", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        keys = list(queryset.filter(revoked_at__isnull=True).select_related("service"))
        for key in keys:
            services.revoke_api_key(key=key, actor=actor_for(request.user))
        self.message_user(
            request,
            ngettext("%(n)s key revoked.", "%(n)s keys revoked.", len(keys)) % {"n": len(keys)},
            messages.SUCCESS,
        )


class VersionInline(admin.TabularInline):
    model = TemplateVersion
    fields = ["number", "subject_es", "created_by", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Template)
class TemplateAdmin(ReadOnlyAdmin):
    list_display = ["slug", "service", "channel", "essential", "archived_at", "created_at"]
    list_filter = ["channel", "essential", "service"]
    list_select_related = ["service"]
    search_fields = ["slug", "service__slug"]
    fields = ["service", "slug", "channel", "essential", "archived_at", "created_at"]
    readonly_fields = fields
    inlines = [VersionInline]
    actions = ["archive"]

    @admin.action(description=_("Archive the selected templates"))
    def archive(self, request, queryset):
        templates = list(queryset.filter(archived_at__isnull=True).select_related("service"))
        for template in templates:
            services.archive_template(template=template, actor=actor_for(request.user))
        self.message_user(
            request,
            ngettext("%(n)s template archived.", "%(n)s templates archived.", len(templates))
            % {"n": len(templates)},
            messages.SUCCESS,
        )


@admin.register(TemplateVersion)
class TemplateVersionAdmin(ReadOnlyAdmin):
    list_display = ["template", "number", "created_by", "created_at"]
    list_select_related = ["template__service"]
    search_fields = ["template__slug", "template__service__slug"]
    fields = [
        "template",
        "number",
        "subject_es",
        "body_es",
        "subject_en",
        "body_en",
        "created_by",
        "created_at",
    ]
    readonly_fields = fields


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "service", "channel", "to", "status", "test", "reference", "created_at"]
    list_filter = ["status", "channel", "service", "test"]
    list_select_related = ["service"]
    search_fields = ["=id", "=reference", "=to", "=recipient"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # counting every message on each page of a large log is slow
    readonly_fields = [field.name for field in Message._meta.fields]
    fields = readonly_fields


@admin.register(Preference)
class PreferenceAdmin(ReadOnlyAdmin):
    list_display = ["user", "channels", "non_essential", "updated_at"]
    list_filter = ["channels", "non_essential"]
    search_fields = ["=user"]
    fields = list_display
    readonly_fields = fields
