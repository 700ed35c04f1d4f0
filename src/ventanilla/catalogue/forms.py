from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Procedure


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search procedures"), required=False, max_length=200)
    institution = forms.CharField(required=False, max_length=40)
    level = forms.TypedChoiceField(
        label=_("Digitalisation level"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any level"))] + [(n, str(n)) for n in range(1, 6)],
    )
    audience = forms.ChoiceField(
        label=_("For"),
        required=False,
        choices=[("", _("Everyone")), ("citizen", _("People")), ("business", _("Businesses"))],
    )
    topic = forms.CharField(required=False, max_length=60)
    page = forms.IntegerField(required=False, min_value=1, max_value=10000)


class UnlistedDocumentForm(forms.Form):
    office = forms.CharField(
        label=_("Which office asked you for it?"),
        max_length=200,
        help_text=_("For example: Dirección de Obras, Municipio de David."),
        error_messages={"required": _("Say at which office you were asked for the document.")},
    )
    document = forms.CharField(
        label=_("Which document were you asked for?"),
        max_length=300,
        error_messages={"required": _("Say which document you were asked for.")},
    )
    asked_on = forms.DateField(
        label=_("When were you asked for it?"),
        help_text=_("For example: 2026-03-27"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": _("Say when you were asked for it."),
            "invalid": _("Write the date as year-month-day, for example 2026-03-27."),
        },
    )
    contact_email = forms.EmailField(
        label=_("Your email (optional)"),
        required=False,
        help_text=_("Only to tell you the institution's answer."),
        error_messages={"invalid": _("Write an email address such as name@example.com.")},
    )
    submission_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def clean_asked_on(self):
        asked_on = self.cleaned_data["asked_on"]
        if asked_on > timezone.localdate():
            raise forms.ValidationError(_("The date cannot be in the future."))
        return asked_on


class ReportAnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Answer"),
        widget=forms.Textarea(attrs={"rows": 5}),
        min_length=10,
        error_messages={
            "required": _("Write an answer."),
            "min_length": _("Write an answer of at least 10 characters."),
        },
    )


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[("approve", _("Approve and publish")), ("reject", _("Reject"))],
        error_messages={"required": _("Choose whether to approve or reject.")},
    )
    note = forms.CharField(
        label=_("Note to the proposer"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ProposalForm(forms.Form):
    document = forms.CharField(
        label=_("The procedure, as it should be published (YAML)"),
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false"}),
        error_messages={"required": _("Paste or edit the procedure document.")},
    )
    justification = forms.CharField(
        label=_("Why is this change needed?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Required by Executive Decree 357 of 2016: every new procedure or requirement is justified."
        ),
        error_messages={"required": _("Explain why this change is needed.")},
    )


LEVEL_CHOICES = [(n, str(n)) for n in range(1, 6)]


class PlanItemForm(forms.Form):
    procedure = forms.ModelChoiceField(
        queryset=Procedure.objects.none(),
        label=_("Procedure"),
        error_messages={"required": _("Choose a procedure.")},
    )
    target_level = forms.TypedChoiceField(choices=LEVEL_CHOICES, coerce=int, label=_("Target level"))
    reengineering = forms.BooleanField(required=False, label=_("The procedure will be re-engineered"))
