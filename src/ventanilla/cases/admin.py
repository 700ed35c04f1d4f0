"""Operators' view of the online services and the cases. Definitions are written as drafts here (checked against
their schema and the catalogue before they are kept) and published with an action; published and replaced
versions, cases and their history are read-only, because every change to them goes through the services and is
audited."""

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ventanilla.core.admin import ReadOnlyAdmin
from ventanilla.identity.selectors import actor_for

from . import definitions, selectors, services
from .models import Case, CaseEvent, Evidence, OfficialRole, Service, ServiceVersion


def _published(service: Service) -> ServiceVersion | None:
    return next(
        (version for version in service.versions.all() if version.status == ServiceVersion.Status.PUBLISHED),
        None,
    )


class VersionInline(admin.TabularInline):
    model = ServiceVersion
    fields = ["number", "status", "computed_level", "created_by", "created_at", "published_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Service)
class ServiceAdmin(ReadOnlyAdmin):
    list_display = [
        "procedure",
        "institution",
        "current_version",
        "computed_level",
        "declared_level",
        "levels_match",
    ]
    list_select_related = ["procedure__institution"]
    search_fields = ["procedure__code", "procedure__title_es", "procedure__title_en"]
    inlines = [VersionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("versions")

    @admin.display(description=_("Institution"), ordering="procedure__institution__code")
    def institution(self, service):
        return service.procedure.institution.code

    @admin.display(description=_("Published version"))
    def current_version(self, service):
        version = _published(service)
        return version.number if version else "—"

    @admin.display(description=_("Computed level"))
    def computed_level(self, service):
        version = _published(service)
        return version.computed_level if version else "—"

    @admin.display(description=_("Level in the catalogue"), ordering="procedure__level")
    def declared_level(self, service):
        return service.procedure.level

    @admin.display(description=_("Levels match"), boolean=True)
    def levels_match(self, service):
        version = _published(service)
        return None if version is None else version.computed_level == service.procedure.level


class DefinitionForm(forms.ModelForm):
    """The definition's source, checked as `services.save_draft` will check it, every problem on the form."""

    class Meta:
        model = ServiceVersion
        fields = ["source"]
        widgets = {
            "source": forms.Textarea(
                attrs={"rows": 40, "cols": 110, "spellcheck": "false", "style": "font-family: monospace"}
            )
        }

    def clean_source(self):
        source = self.cleaned_data["source"]
        if not source.strip():
            raise forms.ValidationError(gettext("Write the definition (YAML or JSON)."))
        try:
            document = definitions.parse_source(source)
        except definitions.InvalidDefinition as error:
            raise forms.ValidationError([str(item) for item in error.errors]) from error
        code = str(document.get("procedure", ""))
        if not self.instance._state.adding and code != self.instance.service.procedure.code:
            raise forms.ValidationError(
                gettext("This draft is for %(code)s; the definition names procedure %(other)s.")
                % {"code": self.instance.service.procedure.code, "other": code or "—"}
            )
        errors = definitions.check(document, procedure=selectors.procedure(code))
        if errors:
            raise forms.ValidationError([f"{item.path or '—'}: {item.message}" for item in errors])
        return source


@admin.register(ServiceVersion)
class ServiceVersionAdmin(admin.ModelAdmin):
    form = DefinitionForm
    list_display = [
        "service",
        "number",
        "status",
        "computed_level",
        "created_by",
        "created_at",
        "published_at",
    ]
    list_filter = ["status"]
    list_select_related = ["service__procedure", "created_by"]
    search_fields = ["service__procedure__code"]
    readonly_fields = [
        "service",
        "number",
        "status",
        "computed_level",
        "declared_level",
        "created_by",
        "published_at",
    ]
    actions = ["publish"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["source"]
        if obj.status != ServiceVersion.Status.DRAFT:
            return [*self.readonly_fields, "source_text"]
        return [*self.readonly_fields, "source"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.status != ServiceVersion.Status.DRAFT:
            return [*self.readonly_fields, "source_text"]
        return self.readonly_fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status != ServiceVersion.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Level in the catalogue"))
    def declared_level(self, version):
        return version.service.procedure.level

    @admin.display(description=_("Definition"))
    def source_text(self, version):
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', version.source)

    def save_model(self, request, obj, form, change):
        version = services.save_draft(
            source=form.cleaned_data["source"],
            actor=actor_for(request.user),
            user=request.user,
            procedure_code=obj.service.procedure.code if change else None,
        )
        # The service keeps one draft: a new source for it replaces that draft, so the admin goes on with it.
        for field in ServiceVersion._meta.concrete_fields:
            setattr(obj, field.attname, getattr(version, field.attname))
        obj._state.adding = False

    @admin.action(description=_("Publish the selected drafts"), permissions=["change"])
    def publish(self, request, queryset):
        for version in queryset.select_related("service__procedure"):
            code = version.service.procedure.code
            try:
                published = services.publish(
                    version=version, actor=actor_for(request.user), user=request.user
                )
            except definitions.InvalidDefinition as error:
                problems = "; ".join(str(item) for item in error.errors)
                self.message_user(request, f"{code} v{version.number}: {problems}", messages.ERROR)
                continue
            except services.CaseError as error:
                self.message_user(request, f"{code} v{version.number}: {error}", messages.ERROR)
                continue
            declared = published.service.procedure.level
            self.message_user(
                request,
                gettext(
                    "%(code)s: version %(number)s published (computed level %(computed)s, catalogue says %(declared)s)."
                )
                % {
                    "code": code,
                    "number": published.number,
                    "computed": published.computed_level,
                    "declared": declared,
                },
                messages.SUCCESS if published.computed_level == declared else messages.WARNING,
            )


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    fields = [
        "at",
        "kind",
        "actor_label",
        "channel",
        "action",
        "from_state",
        "to_state",
        "text",
        "visible_to_applicant",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EvidenceInline(admin.TabularInline):
    model = Evidence
    # The file itself is private: it is downloaded through the case's pages, which check who may see it.
    fields = ["name", "requirement_slug", "content_type", "size", "sha256", "uploaded_at", "in_response"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "service",
        "institution",
        "subject_label",
        "stage",
        "state",
        "outcome",
        "submitted_at",
    ]
    list_filter = ["stage", ("institution", admin.RelatedOnlyFieldListFilter), "channel", "escalated"]
    list_select_related = ["version__service__procedure", "institution"]
    search_fields = ["=reference"]
    show_full_result_count = False
    exclude = ["answers"]
    readonly_fields = ["answers_text"]
    inlines = [EvidenceInline, CaseEventInline]

    @admin.display(description=_("Service"), ordering="version__service__procedure__code")
    def service(self, case):
        return f"{case.version.service.procedure.code} v{case.version.number}"

    @admin.display(description=_("Answers"))
    def answers_text(self, case):
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>',
            json.dumps(case.answers, ensure_ascii=False, indent=2),
        )


@admin.register(OfficialRole)
class OfficialRoleAdmin(admin.ModelAdmin):
    list_display = ["user", "institution", "role", "granted_at"]
    list_filter = ["role", ("institution", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "user__first_name", "user__last_name", "role", "institution__code"]
    list_select_related = ["user", "institution"]
    autocomplete_fields = ["user", "institution"]

    def has_change_permission(self, request, obj=None):
        return False  # a role is granted or revoked, never edited

    def save_model(self, request, obj, form, change):
        granted = services.grant_role(
            user=obj.user, institution=obj.institution, role=obj.role, actor=actor_for(request.user)
        )
        obj.pk = granted.pk

    def delete_model(self, request, obj):
        services.revoke_role(
            user=obj.user, institution=obj.institution, role=obj.role, actor=actor_for(request.user)
        )

    def delete_queryset(self, request, queryset):
        for role in queryset.select_related("user", "institution"):
            self.delete_model(request, role)
