"""Operators' view of payments. Money moves only through payments.services (providers, cashiers, refunds), so
payments, items, refunds and reconciliations are read-only here; obligations and callbacks can be corrected."""

from django.contrib import admin

from .models import (
    Mismatch,
    Obligation,
    ObligationChange,
    Payment,
    PaymentItem,
    Reconciliation,
    Refund,
    Webhook,
)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ChangeInline(admin.TabularInline):
    model = ObligationChange
    extra = 0
    can_delete = False
    readonly_fields = ("at", "kind", "amount_before", "amount_after", "reason", "actor_label")


@admin.register(Obligation)
class ObligationAdmin(admin.ModelAdmin):
    list_display = ("reference", "institution", "debtor_label", "amount", "currency", "status", "due_date")
    list_filter = ("status", "kind", "institution")
    search_fields = ("reference", "debtor", "debtor_label", "source")
    readonly_fields = ("id", "status", "paid_by", "paid_at", "source", "created_at", "updated_at")
    inlines = [ChangeInline]


class ItemInline(admin.TabularInline):
    model = PaymentItem
    extra = 0
    can_delete = False
    readonly_fields = ("obligation", "institution", "amount", "refunded", "duplicate")


@admin.register(Payment)
class PaymentAdmin(ReadOnly):
    list_display = (
        "reference",
        "subject_label",
        "amount",
        "currency",
        "status",
        "provider",
        "channel",
        "created_at",
    )
    list_filter = ("status", "provider", "channel")
    search_fields = ("reference", "receipt_number", "provider_reference", "subject")
    inlines = [ItemInline]


@admin.register(Refund)
class RefundAdmin(ReadOnly):
    list_display = ("reference", "payment", "institution", "amount", "status", "created_at")
    list_filter = ("status",)


class MismatchInline(admin.TabularInline):
    model = Mismatch
    extra = 0
    can_delete = False
    readonly_fields = (
        "kind",
        "payment",
        "refund",
        "provider_reference",
        "platform_amount",
        "provider_amount",
    )


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnly):
    list_display = ("day", "provider", "status", "lines", "matched", "platform_total", "provider_total")
    list_filter = ("status", "provider")
    inlines = [MismatchInline]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("institution", "url", "active", "created_at")
    readonly_fields = ("secret",)
