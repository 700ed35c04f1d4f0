"""Reads about people and who they act for, used by pages, services and other apps."""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.core.actor import Actor
from ventanilla.core.identifiers import InvalidIdentifier, as_uuid, parse_cedula, parse_ruc

from . import authn
from .models import (
    AccountSession,
    AssistedSession,
    Business,
    Consent,
    Delegation,
    Representation,
    SignInRecord,
    User,
)

ALL_SCOPES = frozenset(Delegation.Scope.values)


@dataclass(frozen=True)
class Contact:
    """How to reach a person, for notifications: only verified addresses are given."""

    person: str  # "user:<public id>"
    first_name: str
    email: str
    phone: str
    language: str


def contact_for(person: str) -> Contact | None:
    """The person "user:<public id>" (as events name them), or None when there is no such active account."""
    kind, _, public_id = person.partition(":")
    if kind != "user":
        return None
    try:
        user = User.objects.filter(public_id=public_id, is_active=True).first()
    except ValidationError:
        return None
    if user is None:
        return None
    return Contact(
        person=person,
        first_name=user.first_name,
        email=user.email if user.email_verified_at else "",
        phone=user.phone if user.phone_verified_at else "",
        language=user.preferred_language,
    )


def people_reached_at(address: str) -> list[str]:
    """The people ("user:<public id>") whose verified email or mobile number this is."""
    found = User.objects.filter(
        Q(email__iexact=address, email_verified_at__isnull=False)
        | Q(phone=address, phone_verified_at__isnull=False)
    ).values_list("public_id", flat=True)
    return [f"user:{public_id}" for public_id in found]


def user_by_username(username: str):
    return get_user_model().objects.filter(username=username).first()


def actor_for(user, *, channel: str = "web", on_behalf_of: str = "") -> Actor:
    """The audit identity of a user, for callers that have only the user (commands, the API)."""
    if user is None or not user.is_authenticated:
        return Actor.anonymous(channel=channel)
    return Actor(
        id=f"user:{user.public_id}", label=user.get_username(), channel=channel, on_behalf_of=on_behalf_of
    )


# --- Who a request acts for --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """Whom a signed-in session acts for: the person themself, a business they represent, a person who
    delegated to them, or (for an official) the citizen being assisted. `scopes` are the Delegation.Scope
    values the session may use for them; a delegation that was revoked or expired, or a representation that
    ended, leaves the principal in place with no scopes, so nothing is done for the wrong person unnoticed."""

    kind: str  # "self" | "business" | "person" | "assisted"
    label: str
    reference: str  # "user:<public_id>" or "business:<public_id>", as audit entries and events name subjects
    person: User | None = None
    business: Business | None = None
    scopes: frozenset = field(default_factory=frozenset)
    channel: str = "web"

    @property
    def is_self(self) -> bool:
        return self.kind == "self"

    @property
    def ended(self) -> bool:
        return not self.scopes


def _self(user: User) -> Principal:
    return Principal(
        kind="self", label=str(user), reference=f"user:{user.public_id}", person=user, scopes=ALL_SCOPES
    )


def live_delegations_received(user: User, *, delegator: User | None = None):
    now = timezone.now()
    delegations = Delegation.objects.filter(delegate=user, revoked_at__isnull=True, expires_at__gt=now)
    if delegator is not None:
        delegations = delegations.filter(delegator=delegator)
    return delegations.select_related("delegator").order_by("delegator__first_name", "expires_at")


def confirmed_representations(user: User):
    return (
        Representation.objects.filter(person=user, status=Representation.Status.CONFIRMED)
        .select_related("business")
        .order_by("business__name")
    )


def principal_for_session(session: AccountSession) -> Principal:
    user, acting_for = session.user, session.acting_for or {}
    kind, public_id = acting_for.get("kind"), acting_for.get("id")
    if kind == "business":
        business = Business.objects.filter(public_id=public_id).first()
        if business is not None:
            represents = confirmed_representations(user).filter(business=business).exists()
            return Principal(
                kind="business",
                label=business.name,
                reference=f"business:{business.public_id}",
                business=business,
                scopes=ALL_SCOPES if represents else frozenset(),
            )
    elif kind == "person":
        delegator = User.objects.filter(public_id=public_id).first()
        if delegator is not None:
            scopes = frozenset(
                scope
                for delegation in live_delegations_received(user, delegator=delegator)
                for scope in delegation.scopes
            )
            return Principal(
                kind="person",
                label=str(delegator),
                reference=f"user:{delegator.public_id}",
                person=delegator,
                scopes=scopes & ALL_SCOPES,
            )
    elif kind == "assisted":
        assisted = (
            AssistedSession.objects.select_related("citizen")
            .filter(public_id=public_id, official=user)
            .first()
        )
        if assisted is not None:
            return Principal(
                kind="assisted",
                label=str(assisted.citizen),
                reference=f"user:{assisted.citizen.public_id}",
                person=assisted.citizen,
                scopes=ALL_SCOPES if assisted.ended_at is None else frozenset(),
                channel=assisted.channel,
            )
    return _self(user)


def principal_for_request(request) -> Principal | None:
    """Whom this request acts for (None when nobody is signed in). Cases, payments and documents file their
    records under `principal.reference` and check `may_act` first."""
    cached = getattr(request, "_ventanilla_principal", False)
    if cached is not False:
        return cached
    authentication = authn.current(request)
    principal = principal_for_session(authentication.session) if authentication else None
    request._ventanilla_principal = principal
    return principal


def may_act(request, scope: str) -> bool:
    """Whether this request may do something of `scope` (a Delegation.Scope value) for its principal."""
    if scope not in ALL_SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    principal = principal_for_request(request)
    return principal is not None and scope in principal.scopes


def actor_for_request(request) -> Actor:
    """The audit identity of whoever makes this request, and whom they act for."""
    authentication = authn.current(request)
    if authentication is None:
        return actor_for(getattr(request, "user", None))
    principal = principal_for_request(request)
    if principal.is_self:
        return actor_for(authentication.user)
    return actor_for(authentication.user, channel=principal.channel, on_behalf_of=principal.reference)


# --- The account pages -------------------------------------------------------------------------------------


def user_by_sign_in_identifier(identifier: str, canonical_cedula: str | None) -> User | None:
    """The account a typed identifier names: a cédula (already canonical), an email address, or a username
    (staff accounts, passport holders). None when there is none, or when an email is shared by several."""
    users = User.objects.all()
    if canonical_cedula:
        return users.filter(username=canonical_cedula).first()
    if "@" in identifier:
        matches = list(users.filter(email__iexact=identifier.strip())[:2])
        return matches[0] if len(matches) == 1 else None
    return users.filter(username=identifier.strip()).first()


def email_in_use(email: str, *, besides: User | None = None) -> bool:
    users = User.objects.filter(email__iexact=email.strip())
    if besides is not None:
        users = users.exclude(pk=besides.pk)
    return users.exists()


def active_sessions(user: User):
    return AccountSession.objects.filter(user=user, ended_at__isnull=True).order_by("-last_seen_at")


def sign_in_history(user: User):
    return SignInRecord.objects.filter(user=user).select_related("service").order_by("-at", "-id")


def live_consents(user: User):
    return (
        Consent.objects.filter(user=user, revoked_at__isnull=True)
        .select_related("service", "service__institution")
        .order_by("-granted_at")
    )


def delegations_given(user: User):
    return Delegation.objects.filter(delegator=user).select_related("delegate").order_by("-created_at")


def delegations_received(user: User):
    return Delegation.objects.filter(delegate=user).select_related("delegator").order_by("-created_at")


def delegation_involving(user: User, public_id) -> Delegation | None:
    """A delegation the user gave or received; None for anyone else's (pages answer 404)."""
    return (
        Delegation.objects.filter(Q(delegator=user) | Q(delegate=user), public_id=public_id)
        .select_related("delegator", "delegate")
        .first()
    )


def representations(user: User):
    return (
        Representation.objects.filter(person=user)
        .select_related("business")
        .order_by("status", "business__name")
    )


# --- Whose records: the subject references an institution's record of a person or business may carry ---------------------------------------------------------------------------------------


def principal_keys(principal) -> set[str]:
    """Every subject reference a record of this principal (an obligation, a document) may be filed under: the
    principal itself, and its cédula or RUC, which is how institutions that never saw the account know it."""
    if principal.business is not None:
        return {principal.reference, f"ruc:{principal.business.ruc}"}
    return keys_of_person(principal.person) if principal.person is not None else {principal.reference}


def keys_of_person(user) -> set[str]:
    keys = {f"user:{user.public_id}"}
    if user.document_type == "cedula" and user.document_number:
        keys.add(f"cedula:{user.document_number}")
    return keys


def subject_for_identifier(text: str) -> str:
    """The subject reference for what an institution or a cashier typed: a cédula, a RUC (optionally with "DV nn"),
    or an account's "user:<id>" / "business:<id>". Raises InvalidIdentifier with what to write."""
    text = (text or "").strip()
    kind, _sep, rest = text.partition(":")
    if kind in ("user", "business") and as_uuid(rest):
        return f"{kind}:{as_uuid(rest)}"
    if kind in ("cedula", "ruc"):
        text = rest
    try:
        return f"cedula:{parse_cedula(text).canonical}"
    except InvalidIdentifier:
        pass
    try:
        return f"ruc:{parse_ruc(text).canonical}"
    except InvalidIdentifier as error:
        raise InvalidIdentifier(
            _("Give the person's cédula (e.g. 8-123-4567) or RUC (e.g. 155612345-2-2021 DV 45).")
        ) from error


def keys_for_subject(subject: str) -> set[str]:
    """The references the same subject may appear under, from one of them (the counter looks up by cédula)."""
    keys = {subject}
    kind, _sep, value = subject.partition(":")
    if kind == "cedula":
        user = user_by_sign_in_identifier(value, value)
        if user is not None:
            keys.add(f"user:{user.public_id}")
    return keys


def identifier_of_subject(subject: str) -> str:
    """The cédula or RUC (with DV) a document prints for its holder, or "" when the account has neither."""
    kind, _sep, value = subject.partition(":")
    if kind == "user":
        user = User.objects.filter(public_id=as_uuid(value)).first()
        return user.document_number if user is not None and user.document_type == "cedula" else ""
    if kind == "business":
        business = Business.objects.filter(public_id=as_uuid(value)).first()
        return f"RUC {business.ruc} DV {business.dv}" if business is not None else ""
    return {"cedula": value, "ruc": f"RUC {value}"}.get(kind, "")
