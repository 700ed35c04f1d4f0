"""Forms of the notify pages: what people type, checked before notify.services stores it."""

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from ventanilla.core.i18n import localized

from .models import ApiKey, Channel, Preference

# --- Sending services ------------------------------------------------------------------------------------------

# Names that are also steps of the pages' addresses ("…/plantillas/nueva/"), so they cannot name a thing.
RESERVED_NAMES = {"nuevo", "nueva"}
name_in_address = RegexValidator(
    r"^[a-z0-9]+(-[a-z0-9]+)*$",
    _("Use lowercase letters without accents, numbers and hyphens, like recordatorio-impuesto."),
)


def _input(**attrs) -> dict:
    return {"class": "input", "spellcheck": "false", **attrs}


class NameInAddressField(forms.CharField):
    """The short name a sender uses in the API and that appears in the page's address."""

    def __init__(self, *, max_length: int, **kwargs):
        super().__init__(
            max_length=max_length,
            validators=[name_in_address],
            widget=forms.TextInput(attrs=_input(autocomplete="off")),
            **kwargs,
        )

    def clean(self, value):
        value = super().clean((value or "").strip().lower())
        if value in RESERVED_NAMES:
            raise forms.ValidationError(_("This name is reserved: choose another."))
        return value


class SendingServiceForm(forms.Form):
    name_es = forms.CharField(
        label=_("Name in Spanish"),
        max_length=200,
        help_text=_("People see it as the sender of the emails, e.g. “Municipio de Panamá – Impuestos”."),
        widget=forms.TextInput(attrs=_input(lang="es")),
    )
    name_en = forms.CharField(
        label=_("Name in English"), max_length=200, widget=forms.TextInput(attrs=_input(lang="en"))
    )
    slug = NameInAddressField(
        label=_("Short name"),
        max_length=60,
        help_text=_(
            "Lowercase letters, numbers and hyphens, e.g. mupa-impuestos. It cannot be changed later."
        ),
    )
    institution = forms.ChoiceField(label=_("Institution"), widget=forms.Select(attrs={"class": "select"}))

    def __init__(self, *args, institutions, **kwargs):
        super().__init__(*args, **kwargs)
        self.institutions = {str(institution.id): institution for institution in institutions}
        self.fields["institution"].choices = [
            (key, localized(institution, "name")) for key, institution in self.institutions.items()
        ]
        if len(self.institutions) == 1:
            self.fields["institution"].initial = next(iter(self.institutions))

    def clean_institution(self):
        return self.institutions[self.cleaned_data["institution"]]


class TemplateChannelForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("What kind of message is it?"),
        choices=[(Channel.EMAIL, _("Email")), (Channel.SMS, _("Text message (SMS)"))],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose email or text message.")},
    )


ESSENTIAL_CHOICES = [
    ("yes", _("Yes: it is about the person’s own case, payment or document")),
    ("no", _("No: it is a reminder, news or a campaign")),
]
PLACEHOLDER_HELP = _(
    "Write ((name)) where each message puts its own value, for example “Hello ((first_name))”. "
    "Use the same placeholders in both languages."
)


class TemplateForm(forms.Form):
    """A template's texts in both languages. Email has a subject line; a text message has none."""

    slug = NameInAddressField(
        label=_("Name of the template"),
        max_length=80,
        help_text=_(
            "Lowercase letters, numbers and hyphens, e.g. recordatorio-impuesto. Your systems send it by this "
            "name; it cannot be changed later."
        ),
    )
    essential = forms.TypedChoiceField(
        label=_("Is this message essential?"),
        help_text=_(
            "Essential messages are about the person’s own case, payment or document: everyone receives them "
            "and nobody can opt out. People can choose not to receive the others."
        ),
        choices=ESSENTIAL_CHOICES,
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": _("Say whether the message is essential.")},
    )
    subject_es = forms.CharField(
        label=_("Subject line in Spanish"),
        max_length=200,
        error_messages={"required": _("Write the subject line in Spanish.")},
        widget=forms.TextInput(attrs=_input(lang="es")),
    )
    body_es = forms.CharField(
        label=_("Message in Spanish"),
        error_messages={"required": _("Write the message in Spanish.")},
        help_text=PLACEHOLDER_HELP,
        widget=forms.Textarea(attrs={"rows": 8, "lang": "es"}),
    )
    subject_en = forms.CharField(
        label=_("Subject line in English"),
        max_length=200,
        error_messages={"required": _("Write the subject line in English.")},
        widget=forms.TextInput(attrs=_input(lang="en")),
    )
    body_en = forms.CharField(
        label=_("Message in English"),
        error_messages={"required": _("Write the message in English.")},
        help_text=PLACEHOLDER_HELP,
        widget=forms.Textarea(attrs={"rows": 8, "lang": "en"}),
    )

    def __init__(self, *args, channel: str, creating: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel
        if not creating:
            del self.fields["slug"]
        if channel == Channel.SMS:
            del self.fields["subject_es"], self.fields["subject_en"]
            for name in ("body_es", "body_en"):
                self.fields[name].label = (
                    _("Text message in Spanish") if name == "body_es" else _("Text message in English")
                )
                self.fields[name].widget.attrs["rows"] = 4
                self.fields[name].help_text = _(
                    "%(placeholders)s A text message holds 160 characters, or 70 when it uses characters such "
                    "as á, í, ó or ú; longer ones are sent in parts."
                ) % {"placeholders": PLACEHOLDER_HELP}

    def texts(self) -> dict:
        """The fields notify.services.save_template takes."""
        return {name: self.cleaned_data.get(name, "") for name in self.fields if name != "slug"}


class PreviewForm(forms.Form):
    """One box per placeholder of the template, and the language to see it in."""

    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("es", "Español"), ("en", "English")],
        initial="es",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, placeholders: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.placeholders = placeholders
        for name in placeholders:
            self.fields[f"p_{name}"] = forms.CharField(
                label=f"(({name}))",
                max_length=500,
                error_messages={"required": _("Enter a value for ((%(name)s)).") % {"name": name}},
                widget=forms.TextInput(attrs=_input()),
            )

    def personalisation(self) -> dict:
        return {name: self.cleaned_data[f"p_{name}"] for name in self.placeholders}


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name of the key"),
        max_length=100,
        help_text=_("Where it is used, so you know which one to revoke, e.g. “Tax system, production”."),
        widget=forms.TextInput(attrs=_input(autocomplete="off")),
        error_messages={"required": _("Give the key a name, so you know later where it is used.")},
    )
    kind = forms.ChoiceField(
        label=_("What kind of key?"),
        choices=ApiKey.Kind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a live or a test key.")},
    )


# --- The person's side -----------------------------------------------------------------------------------------


class PreferenceForm(forms.Form):
    channels = forms.ChoiceField(
        label=_("How should we tell you about your applications, payments and documents?"),
        choices=Preference.Channels.choices,
        widget=forms.RadioSelect,
        help_text=_("They are always also in your account, under Messages."),
        error_messages={"required": _("Choose how you want to hear from us.")},
    )
    non_essential = forms.BooleanField(
        label=_("Also send me reminders and news from institutions"),
        required=False,
        widget=forms.CheckboxInput(attrs={"aria-describedby": "id_non_essential_helptext"}),
        help_text=_(
            "Messages about your own applications, payments and documents are always sent, whatever you choose here."
        ),
    )


class PhoneCodeForm(forms.Form):
    code = forms.CharField(
        label=_("The code from the text message"),
        max_length=12,
        help_text=_("Six digits, for example 123456."),
        widget=forms.TextInput(
            attrs=_input(
                autocomplete="one-time-code", inputmode="numeric", **{"class": "input input--width-10"}
            )
        ),
        error_messages={"required": _("Type the code we sent you.")},
    )
