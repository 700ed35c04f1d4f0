"""Forms of the identity pages (accounts, second factors, officials): what people type, checked and put in the
form the services store."""

import re
from datetime import date

from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts, validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ventanilla.core.identifiers import (
    CEDULA_HELP,
    InvalidIdentifier,
    normalize_passport,
    parse_cedula,
    parse_ruc,
    validate_country,
)

from .assurance import canonical_document_number
from .models import Delegation, DocumentType, User

LANGUAGES = [("es", "Español"), ("en", "English")]
PANAMA_PHONE = re.compile(r"[0-9]{7,8}")  # 8 digits for a mobile (6123-4567), 7 for a fixed line (223-4567)
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _input(autocomplete: str = "", **attrs) -> dict:
    attrs = {"class": "input", "spellcheck": "false", **attrs}
    if autocomplete:
        attrs["autocomplete"] = autocomplete
    return attrs


def canonical_cedula(text: str) -> str | None:
    """The canonical cédula in what a person typed, or None if it is not one (an email, a username)."""
    try:
        return parse_cedula(text).canonical
    except InvalidIdentifier:
        return None


def normalize_phone(text: str) -> str:
    """A phone number in E.164. A Panamanian number may be typed as people write it ("6123-4567")."""
    compact = re.sub(r"[\s\-().]", "", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if PANAMA_PHONE.fullmatch(compact):
        compact = "+507" + compact
    if not E164.fullmatch(compact):
        raise ValidationError(
            _("Write a phone number such as 6123-4567, or with its country code such as +1 202 555 0143.")
        )
    return compact


def format_phone(e164: str) -> str:
    """How a stored number is shown: a Panamanian one as people write it, "+507 6123-4567"."""
    if e164.startswith("+507") and len(e164) in (11, 12):
        local = e164[4:]
        return f"+507 {local[:-4]}-{local[-4:]}"
    return e164


class PhoneField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 25)
        kwargs.setdefault("widget", forms.TextInput(attrs=_input("tel", type="tel")))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        return normalize_phone(value) if value else ""


class DatePartsWidget(forms.MultiWidget):
    """Day, month and year in three boxes (the GOV.UK date input): no picker to fight, no locale-dependent
    order to guess."""

    template_name = "identity/widgets/date_parts.html"

    def __init__(self, attrs=None, *, autocomplete: str = ""):
        def part(size: str, suffix: str):
            extra = {"autocomplete": f"{autocomplete}-{suffix}"} if autocomplete else {}
            return forms.TextInput(
                attrs={"inputmode": "numeric", "class": f"input date-input__{size}", **extra}
            )

        super().__init__(
            {"day": part("day", "day"), "month": part("month", "month"), "year": part("year", "year")}, attrs
        )

    def decompress(self, value):
        return [value.day, value.month, value.year] if value else [None, None, None]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        for subwidget, label in zip(
            context["widget"]["subwidgets"], (_("Day"), _("Month"), _("Year")), strict=True
        ):
            subwidget["label"] = label
        return context


class DatePartsField(forms.MultiValueField):
    def __init__(self, *, autocomplete: str = "", **kwargs):
        invalid = kwargs.pop("invalid_message")
        parts = [forms.CharField(max_length=4) for _part in range(3)]
        kwargs.setdefault("error_messages", {}).update({"invalid": invalid, "incomplete": invalid})
        super().__init__(
            parts, widget=DatePartsWidget(autocomplete=autocomplete), require_all_fields=False, **kwargs
        )

    def compress(self, data_list):
        if not data_list or not any(data_list):
            return None
        try:
            day, month, year = (int(part) for part in data_list)
            if year < 1000:
                raise ValueError
            return date(year, month, day)
        except (TypeError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class PasswordField(forms.CharField):
    def __init__(self, *, autocomplete: str, **kwargs):
        kwargs.setdefault("strip", False)
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("widget", forms.PasswordInput(attrs=_input(autocomplete)))
        super().__init__(**kwargs)


def _check_new_password(form: forms.Form, field: str, user: User) -> None:
    password = form.cleaned_data.get(field)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as error:
            form.add_error(field, error)


# --- Registration, sign-in, reset ----------------------------------------------------------------------------


class ShowsPasswordRules(forms.Form):
    """A form with a new password: the rules the validators apply are listed beside the field
    (identity/_password.html), and a screen reader reads them, and any error, with the field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.password_rules = password_validators_help_texts()
        self.fields["password"].widget.attrs["aria-describedby"] = "password-rules"

    def full_clean(self):
        super().full_clean()
        if self.errors.get("password"):
            error_id = self["password"].auto_id + "_error"
            self.fields["password"].widget.attrs["aria-describedby"] = f"password-rules {error_id}"


class RegistrationForm(ShowsPasswordRules):
    document_type = forms.ChoiceField(
        label=_("Which document do you have?"),
        choices=[
            (DocumentType.CEDULA, _("A Panamanian cédula")),
            (DocumentType.PASSPORT, _("A passport (for people without a cédula)")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the document you have.")},
    )
    cedula = forms.CharField(
        label=_("Cédula number"),
        required=False,
        max_length=40,
        help_text=_("Only if you have a cédula. For example 8-123-456, E-8-123456 or 8PI-123-456."),
        widget=forms.TextInput(attrs=_input("off")),
    )
    passport_number = forms.CharField(
        label=_("Passport number"),
        required=False,
        max_length=40,
        help_text=_("Only if you have no cédula."),
        widget=forms.TextInput(attrs=_input("off")),
    )
    nationality = forms.CharField(
        label=_("Country that issued the passport"),
        required=False,
        max_length=3,
        help_text=_("Its three-letter code, as printed on the passport: for example COL, USA or VEN."),
        widget=forms.TextInput(attrs=_input("off", size="4")),
    )
    first_name = forms.CharField(
        label=_("First names"),
        max_length=150,
        widget=forms.TextInput(attrs=_input("given-name", spellcheck="false")),
        error_messages={"required": _("Write your first names.")},
    )
    last_name = forms.CharField(
        label=_("Last names"),
        max_length=150,
        widget=forms.TextInput(attrs=_input("family-name")),
        error_messages={"required": _("Write your last names.")},
    )
    birth_date = DatePartsField(
        label=_("Date of birth"),
        help_text=_("For example 27 3 1990"),
        autocomplete="bday",
        invalid_message=_("Write a real date of birth: day, month and year, for example 27 3 1990."),
        error_messages={"required": _("Write your date of birth.")},
    )
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        help_text=_("We send a link to it to confirm it is yours. It is where a password reset goes."),
        widget=forms.EmailInput(attrs=_input("email")),
        error_messages={
            "required": _("Write your email address."),
            "invalid": _("Write an email address such as name@example.com."),
        },
    )
    phone = PhoneField(
        label=_("Mobile phone (optional)"),
        required=False,
        help_text=_("For example 6123-4567. With another country's number, start with + and its code."),
    )
    preferred_language = forms.ChoiceField(
        label=_("Which language should we write to you in?"),
        choices=LANGUAGES,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a language.")},
    )
    password = PasswordField(
        label=_("Create a password"),
        autocomplete="new-password",
        error_messages={"required": _("Create a password.")},
    )

    def clean_birth_date(self):
        birth_date = self.cleaned_data["birth_date"]
        if not date(1900, 1, 1) <= birth_date < timezone.localdate():
            raise ValidationError(_("The date of birth must be in the past."))
        return birth_date

    def clean(self):
        data = super().clean()
        if data.get("document_type") == DocumentType.CEDULA:
            data["nationality"] = "PAN"
            try:
                data["document_number"] = parse_cedula(data.get("cedula", "")).canonical
            except InvalidIdentifier as error:
                self.add_error("cedula", error if data.get("cedula") else _("Write your cédula number."))
        elif data.get("document_type") == DocumentType.PASSPORT:
            try:
                data["document_number"] = normalize_passport(data.get("passport_number", ""))
            except InvalidIdentifier as error:
                self.add_error(
                    "passport_number",
                    error if data.get("passport_number") else _("Write your passport number."),
                )
            try:
                data["nationality"] = validate_country(data.get("nationality", ""))
            except InvalidIdentifier as error:
                self.add_error("nationality", error)
        if data.get("email"):
            data["email"] = data["email"].strip()
        candidate = User(
            username=data.get("document_number", ""),
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            email=data.get("email", ""),
        )
        _check_new_password(self, "password", candidate)
        return data


class SignInForm(forms.Form):
    identifier = forms.CharField(
        label=_("Cédula or email address"),
        max_length=254,
        widget=forms.TextInput(attrs=_input("username")),
        error_messages={"required": _("Write your cédula or your email address.")},
    )
    password = PasswordField(
        label=_("Password"),
        autocomplete="current-password",
        error_messages={"required": _("Write your password.")},
    )


class ResetRequestForm(forms.Form):
    identifier = forms.CharField(
        label=_("Cédula or email address"),
        max_length=254,
        widget=forms.TextInput(attrs=_input("username")),
        error_messages={"required": _("Write your cédula or your email address.")},
    )


class NewPasswordForm(ShowsPasswordRules):
    password = PasswordField(
        label=_("New password"),
        autocomplete="new-password",
        error_messages={"required": _("Create a new password.")},
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        data = super().clean()
        _check_new_password(self, "password", self.user)
        return data


# --- The account ---------------------------------------------------------------------------------------------


class ProfileForm(forms.Form):
    preferred_language = forms.ChoiceField(
        label=_("Which language should we write to you in?"), choices=LANGUAGES, widget=forms.RadioSelect
    )
    phone = PhoneField(
        label=_("Mobile phone (optional)"),
        required=False,
        help_text=_("For example 6123-4567. With another country's number, start with + and its code."),
    )


class EmailChangeForm(forms.Form):
    email = forms.EmailField(
        label=_("New email address"),
        max_length=254,
        widget=forms.EmailInput(attrs=_input("email")),
        error_messages={
            "required": _("Write the new email address."),
            "invalid": _("Write an email address such as name@example.com."),
        },
    )
    password = PasswordField(
        label=_("Your password"),
        autocomplete="current-password",
        help_text=_("To make sure it is you."),
        error_messages={"required": _("Write your password.")},
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if email.lower() == self.user.email.lower():
            raise ValidationError(_("This is already your email address."))
        return email

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(_("The password is not right."))
        return password


class DelegationForm(forms.Form):
    delegate = forms.CharField(
        label=_("Cédula of the person"),
        max_length=40,
        help_text=_("They must have an account already."),
        widget=forms.TextInput(attrs=_input("off")),
        error_messages={"required": _("Write the cédula of the person.")},
    )
    scopes = forms.MultipleChoiceField(
        label=_("What may they do for you?"),
        choices=Delegation.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose what the person may do for you.")},
    )
    expires_on = DatePartsField(
        label=_("Until when?"),
        help_text=_(
            "The last day, at most one year from today, for example 31 12 2026. You can end it earlier."
        ),
        invalid_message=_("Write a real date: day, month and year, for example 31 12 2026."),
        error_messages={"required": _("Say until when the person may act for you.")},
    )

    def clean_delegate(self):
        try:
            return parse_cedula(self.cleaned_data["delegate"]).canonical
        except InvalidIdentifier:
            raise ValidationError(CEDULA_HELP) from None


class BusinessForm(forms.Form):
    ruc = forms.CharField(
        label=_("RUC"),
        max_length=40,
        help_text=_("As it appears on the RUC certificate, for example 155596713-2-2015."),
        widget=forms.TextInput(attrs=_input("off")),
        error_messages={"required": _("Write the business's RUC.")},
    )
    dv = forms.CharField(
        label=_("DV (check digits)"),
        max_length=2,
        widget=forms.TextInput(attrs=_input("off", inputmode="numeric", size="3")),
        error_messages={"required": _("Write the DV, the two check digits after the RUC.")},
    )
    name = forms.CharField(
        label=_("Name of the business"),
        max_length=200,
        widget=forms.TextInput(attrs=_input("organization")),
        error_messages={"required": _("Write the name of the business.")},
    )

    def clean(self):
        data = super().clean()
        if data.get("ruc") and data.get("dv"):
            try:
                ruc = parse_ruc(data["ruc"], data["dv"])
            except InvalidIdentifier as error:
                self.add_error("ruc", error)
            else:
                data["ruc"], data["dv"] = ruc.canonical, ruc.dv
        return data


class ActAsForm(forms.Form):
    """The value is "self", "business:<public id>" or "person:<public id>"; the service checks the right."""

    acting_for = forms.RegexField(
        regex=r"^(self|(business|person):[0-9a-f-]{36})$",
        error_messages={"required": _("Choose for whom to act."), "invalid": _("Choose for whom to act.")},
    )

    def choice(self) -> tuple[str, str]:
        kind, _separator, public_id = self.cleaned_data["acting_for"].partition(":")
        return kind, public_id


# --- Second factors, step-up and the officials' pages ---


class CodeInput(forms.TextInput):
    """A one-time code: digits on phone keyboards, filled in from SMS/password managers where offered."""

    def __init__(self, **attrs):
        super().__init__(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "spellcheck": "false",
                "class": "input",
                **attrs,
            }
        )


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app"),
        help_text=_("The 6 digits the app shows now for this site."),
        max_length=12,
        widget=CodeInput(),
        error_messages={"required": _("Enter the 6-digit code from your authenticator app.")},
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isdigit() and len(code) == 6):
            raise forms.ValidationError(_("The code is 6 digits, for example 123456."))
        return code


class TotpEnrolForm(TotpCodeForm):
    device = forms.UUIDField(widget=forms.HiddenInput)
    name = forms.CharField(
        label=_("A name for this app"),
        help_text=_("So you can tell your devices apart, for example “my phone”."),
        max_length=100,
        error_messages={"required": _("Give the app a name, for example “my phone”.")},
    )

    field_order = ["name", "code"]


class RecoveryCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Recovery code"),
        help_text=_(
            "One of the codes you saved when you set up your second factor, for example abcd-efgh-jkmn."
        ),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none", "class": "input"}
        ),
        error_messages={"required": _("Enter one of your recovery codes.")},
    )


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        help_text=_("To be sure it is you who removes it."),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "class": "input"}),
        error_messages={"required": _("Enter your password.")},
    )


class PasskeyForm(forms.Form):
    """Only the name: the key itself comes from the browser (webauthn.js)."""

    name = forms.CharField(
        label=_("A name for this passkey or security key"),
        help_text=_("For example “laptop fingerprint” or “blue key”."),
        max_length=100,
        widget=forms.TextInput(attrs={"class": "input", "autocomplete": "off"}),
    )


# --- Officials -----------------------------------------------------------------------------------------------


class DocumentLookupForm(forms.Form):
    """Find a person by the document they show: exactly as the account holds it."""

    document_type = forms.ChoiceField(
        label=_("Document"),
        choices=DocumentType.choices,
        initial=DocumentType.CEDULA,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the kind of document.")},
    )
    document_number = forms.CharField(
        label=_("Document number"),
        help_text=_("As printed on the document, for example 8-123-4567."),
        max_length=32,
        widget=forms.TextInput(attrs={"class": "input", "autocomplete": "off", "spellcheck": "false"}),
        error_messages={"required": _("Enter the document number.")},
    )
    nationality = forms.CharField(
        label=_("Country that issued the passport"),
        help_text=_("Only for a passport: three letters, for example COL for Colombia."),
        required=False,
        max_length=3,
        widget=forms.TextInput(attrs={"class": "input", "autocomplete": "off"}),
    )

    def clean(self):
        data = super().clean()
        document_type = data.get("document_type")
        if document_type and data.get("document_number"):
            try:
                data["document_number"] = canonical_document_number(document_type, data["document_number"])
            except InvalidIdentifier as error:
                self.add_error("document_number", error)
        if document_type == DocumentType.PASSPORT:
            try:
                data["nationality"] = validate_country(data.get("nationality") or "")
            except InvalidIdentifier as error:
                self.add_error("nationality", error)
        return data


class IdentityCheckForm(forms.Form):
    document_number = forms.CharField(
        label=_("Number as read from the document"),
        help_text=_("Read it from the document in front of you, not from the screen."),
        max_length=32,
        widget=forms.TextInput(attrs={"class": "input", "autocomplete": "off", "spellcheck": "false"}),
        error_messages={"required": _("Enter the number printed on the document.")},
    )
    document_expiry = forms.DateField(
        label=_("Expiry date"),
        help_text=_("For example: 2031-06-30"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": _("Enter the document's expiry date."),
            "invalid": _("Write the date as year-month-day, for example 2031-06-30."),
        },
    )
    place = forms.CharField(
        label=_("Where you saw the document"),
        help_text=_("The office or InfoPlaza."),
        max_length=200,
        widget=forms.TextInput(attrs={"class": "input"}),
        error_messages={"required": _("Say where you saw the document.")},
    )
    notes = forms.CharField(
        label=_("Notes (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photo_matches = forms.BooleanField(
        label=_("The photo on the document is of the person in front of me"),
        error_messages={"required": _("Confirm that the photo is of the person in front of you.")},
    )

    def clean_document_expiry(self):
        expiry = self.cleaned_data["document_expiry"]
        if expiry < timezone.localdate():
            raise forms.ValidationError(_("The document has expired: it cannot be used."))
        return expiry


class AssistForm(DocumentLookupForm):
    channel = forms.ChoiceField(
        label=_("Where is the citizen?"),
        choices=[
            ("office", _("At an office")),
            ("infoplaza", _("At an InfoPlaza")),
            ("phone311", _("On the phone, calling 311")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose where the citizen is.")},
    )
    agreed = forms.BooleanField(
        label=_("I read this to the citizen and the citizen agreed"),
        error_messages={"required": _("You may only act for the citizen if they agreed.")},
    )
