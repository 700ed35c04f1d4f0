"""Relying parties in the Django admin, for operators. Writes go through services (validation, audit); a
client_secret_basic service's secret is shown once, after saving."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from ..models import RelyingParty
from ..selectors import actor_for
from . import services

EDITABLE = [
    "client_id",
    "name_es",
    "name_en",
    "institution",
    "redirect_uris",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "sector",
    "subject_type",
    "token_endpoint_auth_method",
    "jwks",
    "jwks_uri",
    "scopes",
    "claims",
    "minimum_level",
    "active",
]


class RelyingPartyForm(forms.ModelForm):
    backchannel_logout_uri = forms.URLField(required=False, assume_scheme="https")
    jwks_uri = forms.URLField(required=False, assume_scheme="https")
    sector = forms.CharField(
        required=False, max_length=200, help_text="Default: the institution's code (else the client_id)."
    )
    claims = forms.JSONField(
        required=False,
        initial=list,
        help_text='[{"claim": "email", "essential": true, "purpose_es": "…", "purpose_en": "…"}]',
    )

    class Meta:
        model = RelyingParty
        fields = EDITABLE

    def clean(self):
        cleaned = super().clean()
        fields = {name: cleaned[name] for name in EDITABLE if name in cleaned}
        adding = self.instance._state.adding
        if not adding:
            fields.pop("client_id", None)
        elif not fields.get("sector"):
            fields.pop("sector", None)  # registration gives the default (the institution's code)
        try:
            services.validate_relying_party(fields, instance=None if adding else self.instance)
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                for problem in problems:
                    self.add_error(field if field in self.fields else None, problem)
        return cleaned


def _show_secret(request, service, secret):
    messages.warning(
        request,
        f"Client secret of {service.client_id}, shown only now: {secret} — give it to the service's team "
        "through a safe channel.",
    )


@admin.register(RelyingParty)
class RelyingPartyAdmin(admin.ModelAdmin):
    form = RelyingPartyForm
    list_display = [
        "client_id",
        "name_es",
        "institution",
        "token_endpoint_auth_method",
        "minimum_level",
        "active",
    ]
    list_filter = ["active", "minimum_level", "token_endpoint_auth_method"]
    search_fields = ["client_id", "name_es", "name_en", "sector"]
    readonly_fields = ["created_at", "created_by"]
    actions = ["rotate_secret"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "client_id"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in EDITABLE if name in form.cleaned_data}
        actor = actor_for(request.user)
        if change:
            registration = services.update_relying_party(service=obj, changes=fields, actor=actor)
        else:
            registration = services.register_relying_party(actor=actor, created_by=request.user, **fields)
            obj.pk = registration.service.pk
        if registration.client_secret:
            _show_secret(request, registration.service, registration.client_secret)

    @admin.action(description="Replace the client secret (client_secret_basic services)")
    def rotate_secret(self, request, queryset):
        for service in queryset:
            try:
                secret = services.rotate_client_secret(service=service, actor=actor_for(request.user))
            except ValidationError as error:
                messages.error(request, f"{service.client_id}: {' '.join(error.messages)}")
            else:
                _show_secret(request, service, secret)
