"""Forms of the documents pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .services import MAX_SHARE_DAYS


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code"),
        max_length=30,
        help_text=_("The 12 letters and digits under the QR code, for example K7QF-3M9T-X2VA."),
        error_messages={"required": _("Type the verification code printed on the document.")},
        widget=forms.TextInput(
            attrs={
                "class": "input",
                "spellcheck": "false",
                "autocomplete": "off",
                "autocapitalize": "characters",
            }
        ),
    )


class FileForm(forms.Form):
    file = forms.FileField(
        label=_("The PDF"),
        help_text=_("Exactly as you received it, up to 10 MB."),
        error_messages={
            "required": _("Choose the PDF to check."),
            "empty": _("The file you chose is empty."),
        },
        widget=forms.ClearableFileInput(attrs={"class": "file-upload", "accept": "application/pdf,.pdf"}),
    )

    def clean_file(self):
        file = self.cleaned_data["file"]
        if file.size > 10 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 10 MB: no document of ours is."))
        return file


class PresentationForm(forms.Form):
    presentation = forms.CharField(
        label=_("The credential as presented"),
        max_length=100_000,
        help_text=_("Paste the SD-JWT VC the holder's wallet showed you (it starts with eyJ)."),
        error_messages={"required": _("Paste the credential to check.")},
        widget=forms.Textarea(
            attrs={"class": "input", "rows": 4, "spellcheck": "false", "autocomplete": "off"}
        ),
    )


class ShareForm(forms.Form):
    days = forms.TypedChoiceField(
        label=_("For how long"),
        coerce=int,
        initial=7,
        choices=[(1, _("1 day")), (7, _("7 days")), (MAX_SHARE_DAYS, _("30 days"))],
        widget=forms.Select(attrs={"class": "select"}),
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Why it is revoked"),
        max_length=1000,
        help_text=_("The holder and anyone who checks the document will read this."),
        error_messages={"required": _("Say why it is revoked.")},
        widget=forms.Textarea(attrs={"class": "input", "rows": 3}),
    )
