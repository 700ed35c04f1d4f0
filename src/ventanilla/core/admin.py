from django.contrib import admin

from .models import AuditEntry, Event, EventDelivery


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "seq",
        "at",
        "actor_label",
        "on_behalf_of",
        "channel",
        "action",
        "object_type",
        "object_id",
    ]
    list_filter = ["channel", "action", "object_type"]
    search_fields = ["actor_label", "object_id", "action"]


class EventDeliveryInline(admin.TabularInline):
    model = EventDelivery
    extra = 0
    can_delete = False
    readonly_fields = ["subscriber", "status", "attempts", "last_error", "delivered_at"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "name", "subject"]
    list_filter = ["name"]
    inlines = [EventDeliveryInline]
