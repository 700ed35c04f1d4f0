"""Forms of the payments pages: what people type, checked before payments.services stores it (amounts stay text
until services.parse_amount reads them exactly)."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import Obligation


def _input(**attrs) -> dict:
    return {"class": "input", **attrs}


class AmountField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            max_length=20,
            widget=forms.TextInput(attrs=_input(inputmode="decimal", autocomplete="off")),
            **kwargs,
        )


class ReasonField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            max_length=2000, widget=forms.Textarea(attrs={"class": "input", "rows": 3}), **kwargs
        )


class ObligationForm(forms.Form):
    reference = forms.CharField(
        label=_("Your reference"),
        max_length=60,
        help_text=_("Unique within your institution: an invoice, ticket or file number."),
        widget=forms.TextInput(attrs=_input(spellcheck="false", autocomplete="off")),
    )
    debtor = forms.CharField(
        label=_("Cédula or RUC of who owes it"),
        max_length=80,
        help_text=_("For example 8-123-4567, or 155612345-2-2021 DV 45 for a business."),
        widget=forms.TextInput(attrs=_input(spellcheck="false", autocomplete="off")),
    )
    debtor_name = forms.CharField(
        label=_("Their name"), max_length=200, widget=forms.TextInput(attrs=_input())
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=Obligation.Kind.choices, widget=forms.Select(attrs={"class": "select"})
    )
    concept_es = forms.CharField(
        label=_("What it is for, in Spanish"), max_length=300, widget=forms.TextInput(attrs=_input(lang="es"))
    )
    concept_en = forms.CharField(
        label=_("What it is for, in English"), max_length=300, widget=forms.TextInput(attrs=_input(lang="en"))
    )
    amount = AmountField(label=_("Amount"), help_text=_("With a point for the cents, e.g. 25.00."))
    currency = forms.ChoiceField(label=_("Currency"), widget=forms.Select(attrs={"class": "select"}))
    due_date = forms.DateField(
        label=_("Due date (optional)"),
        required=False,
        help_text=_("For example 2027-03-31."),
        widget=forms.DateInput(attrs=_input(type="date"), format="%Y-%m-%d"),
    )
    legal_basis = forms.CharField(
        label=_("Legal basis (optional)"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs=_input()),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(code, code) for code in settings.VENTANILLA_PAYMENTS_CURRENCIES]


class ImportForm(forms.Form):
    MAX_BYTES = 2 * 1024 * 1024
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8 text, at most 2 MB."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB: split it in two."))
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file must be UTF-8 text: save it as “CSV UTF-8”.")) from None


class AdjustForm(forms.Form):
    amount = AmountField(label=_("New amount"))
    reason = ReasonField(label=_("Why it changes"), help_text=_("The debtor sees it."))


class CancelForm(forms.Form):
    reason = ReasonField(label=_("Why it is cancelled"), help_text=_("The debtor sees it."))


class RefundForm(forms.Form):
    amount = AmountField(label=_("Amount to refund"))
    reason = ReasonField(label=_("Why it is refunded"))


class DebtorForm(forms.Form):
    debtor = forms.CharField(
        label=_("Cédula or RUC"),
        max_length=80,
        widget=forms.TextInput(attrs=_input(spellcheck="false", autocomplete="off")),
    )


class PeriodForm(forms.Form):
    start = forms.DateField(
        label=_("First day"), widget=forms.DateInput(attrs=_input(type="date"), format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("Last day"), widget=forms.DateInput(attrs=_input(type="date"), format="%Y-%m-%d")
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and (start > end or (end - start).days > 92):
            self.add_error("start", _("Choose a start on or before the end, at most 92 days before it."))
        return data


class DayForm(forms.Form):
    day = forms.DateField(
        label=_("Day"), widget=forms.DateInput(attrs=_input(type="date"), format="%Y-%m-%d")
    )
