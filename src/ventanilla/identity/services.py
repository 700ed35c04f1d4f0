"""Every write to identity: accounts, sign-in checks, links sent by email, the account page, acting for others.
Keyword-only, one transaction each, every change audit-logged with the Actor who made it."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ventanilla.core import audit, events
from ventanilla.core.actor import Actor

from . import authn, selectors, tasks, throttling
from .models import (
    AccountSession,
    ApiToken,
    Business,
    Delegation,
    DocumentType,
    OAuthToken,
    Representation,
    StaffRole,
    User,
)

TOKEN_PREFIX = "vnt_"  # noqa: S105 (a public prefix, not a secret)


def token_hash(raw: str) -> str:
    """Bearer secrets (API tokens, OAuth tokens) are stored only as this digest: they are long and random, so a
    fast hash is enough and keeps every authenticated request cheap."""
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_operator(*, username: str, email: str, password: str, actor: Actor):
    user = get_user_model().objects.create_superuser(username=username, email=email, password=password)
    audit.record(
        actor=actor, action="identity.operator_created", object_type="user", object_id=user.public_id
    )
    return user


@transaction.atomic
def create_user(
    *,
    username: str,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    is_staff: bool = False,
    actor: Actor,
):
    user = get_user_model().objects.create_user(
        username=username,
        email=email,
        password=password,
        first_name=first_name,
        last_name=last_name,
        is_staff=is_staff,
    )
    audit.record(actor=actor, action="identity.user_created", object_type="user", object_id=user.public_id)
    return user


@transaction.atomic
def create_person(
    *,
    document_type: str,
    document_number: str,
    nationality: str,
    first_name: str,
    last_name: str,
    email: str,
    password: str,
    preferred_language: str = "es",
    actor: Actor,
) -> User:
    """An active person whose email counts as verified. For operators only (the demo, moving accounts over from
    an institution's old system); people register themselves through register_person."""
    user = User.objects.create_user(
        username=username_for(
            document_type=document_type, nationality=nationality, document_number=document_number
        ),
        email=email,
        password=password,
        first_name=first_name,
        last_name=last_name,
        document_type=document_type,
        document_number=document_number,
        nationality=nationality,
        preferred_language=preferred_language,
        email_verified_at=timezone.now(),
    )
    audit.record(actor=actor, action="identity.person_created", object_type="user", object_id=user.public_id)
    return user


@transaction.atomic
def issue_api_token(*, user, name: str, actor: Actor) -> str:
    """Returns the token once; only its hash is kept."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:8], token_hash=token_hash(raw))
    audit.record(
        actor=actor,
        action="identity.api_token_issued",
        object_type="api_token",
        object_id=token.id,
        data={"user": str(user.public_id), "name": name},
    )
    return raw


def user_for_api_token(raw: str):
    """The active user a bearer token belongs to, or None."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=token_hash(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(id=token.id).update(last_used_at=now)
    return token.user


# --- One-time links sent by email -------------------------------------------------------------------------
#
# A link carries the person's public id and a fingerprint of the account fields that using the link changes
# (password, email, verification). It is signed with the secret key and dated, so it cannot be forged, it
# expires, and it stops working once used: using it changes the fingerprint. Nothing is stored.

LINK_LIFETIME = {
    "verify-email": timedelta(hours=24),
    "change-email": timedelta(hours=24),
    "reset": timedelta(hours=1),
}


def _fingerprint(user: User) -> str:
    verified = user.email_verified_at.timestamp() if user.email_verified_at else ""
    state = f"{user.password}|{user.email.lower()}|{verified}|{user.is_active}"
    return hashlib.sha256(state.encode()).hexdigest()[:32]


def make_link_token(*, purpose: str, user: User, **extra: str) -> str:
    payload = {"u": str(user.public_id), "f": _fingerprint(user), **extra}
    return signing.dumps(payload, salt=f"ventanilla.identity.{purpose}", compress=True)


def read_link_token(token: str, *, purpose: str) -> tuple[User, dict] | None:
    """The person a link names and what it carries; None if the link is forged, expired or already used."""
    try:
        payload = signing.loads(token, salt=f"ventanilla.identity.{purpose}", max_age=LINK_LIFETIME[purpose])
        user = User.objects.filter(public_id=uuid.UUID(payload["u"])).first()
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if user is None or not constant_time_compare(payload.get("f", ""), _fingerprint(user)):
        return None
    return user, payload


def _absolute_url(name: str, language: str, **kwargs) -> str:
    """Links in mail point at the public address (never the Host header of the request), in the language of
    the person reading them."""
    with translation.override(language):
        return settings.VENTANILLA_PUBLIC_URL + reverse(name, kwargs=kwargs)


def _date_for(user: User, day: date) -> str:
    with translation.override(user.preferred_language):
        return date_format(day, "DATE_FORMAT")


def _mail_person(template: str, user: User, *, to: str | None = None, **context) -> None:
    """Queued in the caller's transaction, so the message goes out exactly when the change is committed; in
    the person's language."""
    tasks.send_account_email.enqueue(
        template=template,
        to=to or user.email,
        language=user.preferred_language,
        context={"name": user.get_full_name() or user.get_username(), **context},
    )


def _labels_in(language: str, labels) -> list[str]:
    """Labels translated now for a message rendered later (task arguments are plain JSON)."""
    with translation.override(language):
        return [str(label) for label in labels]


def _throttle_keys(kind: str, identifier: str, address: str | None) -> list[str]:
    keys = [throttling.key(kind, identifier)]
    if address:
        keys.append(throttling.key("address", address))
    return keys


# --- Registration ------------------------------------------------------------------------------------------


def username_for(*, document_type: str, nationality: str, document_number: str) -> str:
    """A cédula is its own username; a passport needs its issuing country to be unique."""
    if document_type == DocumentType.CEDULA:
        return document_number
    return f"P-{nationality}-{document_number}"


def _abandoned(user: User) -> bool:
    """A self-registration whose verification link expired unused: it holds no rights to its details."""
    return (
        not user.is_active
        and user.email_verified_at is None
        and user.last_login is None
        and user.date_joined < timezone.now() - LINK_LIFETIME["verify-email"]
    )


def _send_verification(user: User) -> None:
    token = make_link_token(purpose="verify-email", user=user)
    _mail_person(
        "verify_email",
        user,
        link=_absolute_url("identity:verify-email", user.preferred_language, token=token),
        hours=int(LINK_LIFETIME["verify-email"].total_seconds() // 3600),
    )


def _answer_duplicate(owner: User, *, actor: Actor) -> None:
    """Someone registered with details an account already has. The page they see is the same as for a new
    account; the owner is told by email (and an owner who never verified gets their link again)."""
    if owner.email_verified_at is None and not owner.is_active:
        _send_verification(owner)
    else:
        _mail_person(
            "already_registered",
            owner,
            sign_in=_absolute_url("identity:sign-in", owner.preferred_language),
            reset=_absolute_url("identity:reset", owner.preferred_language),
        )
    audit.record(
        actor=actor, action="identity.registration_duplicate", object_type="user", object_id=owner.public_id
    )


@transaction.atomic
def register_person(
    *,
    document_type: str,
    document_number: str,
    nationality: str,
    first_name: str,
    last_name: str,
    birth_date: date,
    email: str,
    phone: str,
    preferred_language: str,
    password: str,
    address: str | None,
    actor: Actor,
) -> None:
    """Create an inactive account and email the link that activates it — or, if the document or the email is
    already registered, tell the owner instead. The caller cannot tell which happened (no enumeration), and
    submitting the same registration twice creates one account. Every registration counts towards a
    throttle on the email address, so nobody can flood someone's inbox through this form."""
    throttling.record_failure(*_throttle_keys("register", email, address))
    username = username_for(
        document_type=document_type, nationality=nationality, document_number=document_number
    )
    same_document = Q(username=username) | Q(
        document_type=document_type, nationality=nationality, document_number=document_number
    )
    owners = list(User.objects.select_for_update().filter(same_document | Q(email__iexact=email)))
    for owner in owners:
        if _abandoned(owner):
            audit.record(
                actor=actor,
                action="identity.registration_expired",
                object_type="user",
                object_id=owner.public_id,
            )
            owner.delete()
    owners = [owner for owner in owners if owner.pk is not None]
    if owners:
        for owner in owners:
            _answer_duplicate(owner, actor=actor)
        return
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        document_type=document_type,
        document_number=document_number,
        nationality=nationality,
        birth_date=birth_date,
        phone=phone,
        preferred_language=preferred_language,
        is_active=False,
    )
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # the same details registered a moment ago by another request
        for owner in User.objects.filter(same_document):
            _answer_duplicate(owner, actor=actor)
        return
    audit.record(
        actor=actor,
        action="identity.registered",
        object_type="user",
        object_id=user.public_id,
        data={"document_type": document_type, "nationality": nationality},
    )
    _send_verification(user)


@transaction.atomic
def verify_email(*, token: str, actor: Actor) -> User | None:
    """Activate the account a verification link names. None if the link is invalid, expired or used."""
    found = read_link_token(token, purpose="verify-email")
    if found is None:
        return None
    user = found[0]
    user.is_active = True
    user.email_verified_at = timezone.now()
    user.save(update_fields=["is_active", "email_verified_at"])
    audit.record(actor=actor, action="identity.email_verified", object_type="user", object_id=user.public_id)
    return user


# --- Signing in --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignInCheck:
    user: User | None  # set only when the password is right and the account may sign in
    wait_seconds: int = 0  # set when the identifier or the address is locked out


def check_sign_in(
    *, identifier: str, canonical_cedula: str | None, password: str, address: str | None, actor: Actor
) -> SignInCheck:
    """Check a password against the account an identifier names, with throttling. Every failure looks the
    same to the caller, whether the account exists, the password is wrong or the email is unverified (then
    the verification link is sent again, so the person can finish registering)."""
    keys = _throttle_keys("account", canonical_cedula or identifier, address)
    if wait := throttling.locked_for(*keys):
        return SignInCheck(user=None, wait_seconds=wait)
    user = selectors.user_by_sign_in_identifier(identifier, canonical_cedula)
    if user is None:
        User().set_password(password)  # take as long as a real check, so timing reveals nothing
        password_ok = False
    else:
        password_ok = user.check_password(password)
    if password_ok and user.is_active:
        throttling.clear(keys[0])  # not the address: one good account must not unlock an address for others
        return SignInCheck(user=user)
    throttling.record_failure(*keys)
    if user is not None:
        if password_ok and user.email_verified_at is None:
            with transaction.atomic():
                _send_verification(user)
        audit.record(
            actor=actor,
            action="identity.sign_in_failed",
            object_type="user",
            object_id=user.public_id,
            data={"reason": "inactive" if password_ok else "password"},
        )
    return SignInCheck(user=None, wait_seconds=throttling.locked_for(*keys))


# --- Password reset ----------------------------------------------------------------------------------------


def registration_wait_seconds(*, email: str, address: str | None) -> int:
    return throttling.locked_for(*_throttle_keys("register", email, address))


def reset_wait_seconds(*, identifier: str, address: str | None) -> int:
    return throttling.locked_for(*_throttle_keys("reset", identifier, address))


@transaction.atomic
def request_password_reset(
    *, identifier: str, canonical_cedula: str | None, address: str | None, actor: Actor
) -> None:
    """Email a reset link to the verified address of the account named, if there is one. Every request
    counts towards the throttle, so nobody can flood a person's inbox."""
    throttling.record_failure(*_throttle_keys("reset", canonical_cedula or identifier, address))
    user = selectors.user_by_sign_in_identifier(identifier, canonical_cedula)
    if user is None or not user.email or user.email_verified_at is None:
        return
    token = make_link_token(purpose="reset", user=user)
    _mail_person(
        "reset_password",
        user,
        link=_absolute_url("identity:reset-confirm", user.preferred_language, token=token),
        minutes=int(LINK_LIFETIME["reset"].total_seconds() // 60),
    )
    audit.record(actor=actor, action="identity.reset_requested", object_type="user", object_id=user.public_id)


@transaction.atomic
def reset_password(
    *, user: User, token: str, password: str, keep_session_key: str | None, actor: Actor
) -> bool:
    """Set a new password through a reset link and sign the person out everywhere else. Second factors stay.
    False if the link is no longer valid (used, expired)."""
    found = read_link_token(token, purpose="reset")
    if found is None or found[0].pk != user.pk:
        return False
    user.set_password(password)
    user.save(update_fields=["password"])
    for session in selectors.active_sessions(user).exclude(session_key=keep_session_key or ""):
        authn.end_session(session=session, actor=actor)
    throttling.clear(*(throttling.key("account", value) for value in (user.username, user.email) if value))
    audit.record(actor=actor, action="identity.password_reset", object_type="user", object_id=user.public_id)
    _mail_person("password_changed", user, reset=_absolute_url("identity:reset", user.preferred_language))
    return True


# --- The account: profile, email, sessions, consents -------------------------------------------------------


@transaction.atomic
def confirm_phone(*, user: User, phone: str, actor: Actor) -> bool:
    """The person proved (with a code sent to it) that `phone` is theirs; False if the number on the account
    has changed since the code was sent."""
    if user.phone != phone:
        return False
    user.phone_verified_at = timezone.now()
    user.save(update_fields=["phone_verified_at"])
    audit.record(actor=actor, action="identity.phone_confirmed", object_type="user", object_id=user.public_id)
    return True


@transaction.atomic
def update_profile(*, user: User, preferred_language: str, phone: str, actor: Actor) -> User:
    changed = {
        name: value
        for name, value in {"preferred_language": preferred_language, "phone": phone}.items()
        if getattr(user, name) != value
    }
    if changed:
        for name, value in changed.items():
            setattr(user, name, value)
        if "phone" in changed:
            user.phone_verified_at = None
        user.save(update_fields=[*changed, "phone_verified_at"])
        audit.record(
            actor=actor,
            action="identity.profile_updated",
            object_type="user",
            object_id=user.public_id,
            data={"fields": sorted(changed)},
        )
    return user


@transaction.atomic
def request_email_change(*, user: User, new_email: str, actor: Actor) -> None:
    """Send a link to the new address; the address changes only when that link is used. If another account
    has the address, its owner is told instead (the person asking sees the same page)."""
    language = user.preferred_language
    owner = User.objects.filter(email__iexact=new_email.strip()).first()
    if owner is not None:
        _mail_person("email_in_use", owner, reset=_absolute_url("identity:reset", owner.preferred_language))
    else:
        token = make_link_token(purpose="change-email", user=user, email=new_email)
        _mail_person(
            "change_email",
            user,
            to=new_email,
            link=_absolute_url("identity:email-change-confirm", language, token=token),
            hours=int(LINK_LIFETIME["change-email"].total_seconds() // 3600),
        )
    audit.record(
        actor=actor, action="identity.email_change_requested", object_type="user", object_id=user.public_id
    )


@transaction.atomic
def confirm_email_change(*, token: str, actor: Actor) -> User | None:
    """Replace the address with the one a change link was sent to, and tell the old address."""
    found = read_link_token(token, purpose="change-email")
    if found is None:
        return None
    user, payload = found
    new_email = payload.get("email", "")
    if not new_email or selectors.email_in_use(new_email, besides=user):
        return None
    old_email = user.email
    user.email, user.email_verified_at = new_email, timezone.now()
    user.save(update_fields=["email", "email_verified_at"])
    audit.record(actor=actor, action="identity.email_changed", object_type="user", object_id=user.public_id)
    if old_email:
        _mail_person(
            "email_changed",
            user,
            to=old_email,
            new_email=_masked_email(new_email),
            reset=_absolute_url("identity:reset", user.preferred_language),
        )
    return user


def _masked_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:2]}{'•' * max(len(local) - 2, 1)}@{domain}"


@transaction.atomic
def end_session(*, user: User, session_id, actor: Actor) -> bool:
    """Sign one of the person's own sessions out. False if it is not theirs or has ended."""
    session = selectors.active_sessions(user).filter(id=session_id).first()
    if session is None:
        return False
    authn.end_session(session=session, actor=actor)
    return True


@transaction.atomic
def end_other_sessions(*, user: User, current_session_id, actor: Actor) -> int:
    others = list(selectors.active_sessions(user).exclude(id=current_session_id))
    for session in others:
        authn.end_session(session=session, actor=actor)
    return len(others)


@transaction.atomic
def revoke_consent(*, user: User, consent_id, actor: Actor) -> bool:
    """Withdraw what the person agreed to share with a service; its tokens stop working and the next sign-in
    to it asks again. False if the consent is not the person's or is no longer live."""
    consent = selectors.live_consents(user).filter(id=consent_id).first()
    if consent is None:
        return False
    now = timezone.now()
    consent.revoked_at = now
    consent.save(update_fields=["revoked_at"])
    OAuthToken.objects.filter(user=user, service=consent.service, revoked_at__isnull=True).update(
        revoked_at=now
    )
    audit.record(
        actor=actor,
        action="identity.consent_revoked",
        object_type="consent",
        object_id=consent.id,
        data={"service": consent.service.client_id},
    )
    events.emit(
        "identity.consent_revoked",
        subject=f"user:{user.public_id}",
        payload={"user": str(user.public_id), "service": consent.service.client_id},
    )
    return True


# --- Acting for others: delegations, businesses ------------------------------------------------------------

DELEGATION_MAX_DAYS = 366


@transaction.atomic
def grant_delegation(
    *, delegator: User, delegate_cedula: str, scopes: list[str], expires_on: date, actor: Actor
) -> Delegation:
    """Let another registered person act for the delegator within `scopes` until the end of `expires_on`.
    Raises ValidationError with a message for the person; an unknown cédula and an account that cannot
    receive a delegation get the same one."""
    today = timezone.localdate()
    if not scopes or not set(scopes) <= set(Delegation.Scope.values):
        raise ValidationError({"scopes": _("Choose what the person may do for you.")})
    if not today < expires_on <= today + timedelta(days=DELEGATION_MAX_DAYS - 1):
        raise ValidationError(
            {"expires_on": _("The end date must be after today and at most one year from today.")}
        )
    delegate = User.objects.filter(
        username=delegate_cedula, is_active=True, email_verified_at__isnull=False
    ).first()
    if delegate is None:
        raise ValidationError(
            {"delegate": _("We could not set up the delegation. Ask the person to register first.")}
        )
    if delegate.pk == delegator.pk:
        raise ValidationError({"delegate": _("Give the cédula of someone else, not your own.")})
    midnight = datetime.combine(expires_on + timedelta(days=1), time.min)
    delegation = Delegation.objects.create(
        delegator=delegator,
        delegate=delegate,
        scopes=sorted(set(scopes)),
        expires_at=timezone.make_aware(midnight),
    )
    audit.record(
        actor=actor,
        action="identity.delegation_granted",
        object_type="delegation",
        object_id=delegation.public_id,
        data={
            "delegate": str(delegate.public_id),
            "scopes": delegation.scopes,
            "expires_on": str(expires_on),
        },
    )
    _mail_person(
        "delegation_granted",
        delegate,
        delegator=str(delegator),
        scopes=_labels_in(
            delegate.preferred_language, [Delegation.Scope(scope).label for scope in delegation.scopes]
        ),
        expires_on=_date_for(delegate, expires_on),
        link=_absolute_url("identity:delegations", delegate.preferred_language),
    )
    return delegation


@transaction.atomic
def end_delegation(*, user: User, delegation_id, actor: Actor) -> Delegation | None:
    """The delegator revokes a delegation, or the delegate declines it. None if it is neither's."""
    delegation = selectors.delegation_involving(user, delegation_id)
    if delegation is None:
        return None
    if delegation.revoked_at is None:
        delegation.revoked_at = timezone.now()
        delegation.save(update_fields=["revoked_at"])
        declined = delegation.delegate_id == user.pk
        audit.record(
            actor=actor,
            action="identity.delegation_declined" if declined else "identity.delegation_revoked",
            object_type="delegation",
            object_id=delegation.public_id,
        )
    return delegation


@transaction.atomic
def declare_representation(*, person: User, ruc: str, dv: str, name: str, actor: Actor) -> Representation:
    """The person says they represent a business; an official confirms it. Declaring it again is harmless."""
    business, created = Business.objects.get_or_create(ruc=ruc, defaults={"dv": dv, "name": name})
    if created:
        audit.record(
            actor=actor,
            action="identity.business_registered",
            object_type="business",
            object_id=business.public_id,
        )
    live = business.representations.filter(person=person).exclude(status=Representation.Status.ENDED).first()
    if live is not None:
        return live
    representation = Representation.objects.create(business=business, person=person)
    audit.record(
        actor=actor,
        action="identity.representation_declared",
        object_type="representation",
        object_id=representation.public_id,
        data={"business": str(business.public_id)},
    )
    return representation


@transaction.atomic
def confirm_representation(*, representation_id, official: User, actor: Actor) -> Representation:
    """An official with the registrar role, having seen the Public Registry's record, confirms it."""
    if not official.staff_roles.filter(role=StaffRole.Role.REGISTRAR).exists():
        raise PermissionDenied(_("Only registrars may confirm a representation."))
    representation = (
        Representation.objects.select_for_update()
        .filter(public_id=representation_id, status=Representation.Status.PENDING)
        .first()
    )
    if representation is None:
        raise ValidationError(_("There is no representation waiting for confirmation with this reference."))
    representation.status = Representation.Status.CONFIRMED
    representation.confirmed_by = official
    representation.save(update_fields=["status", "confirmed_by"])
    audit.record(
        actor=actor,
        action="identity.representation_confirmed",
        object_type="representation",
        object_id=representation.public_id,
    )
    return representation


@transaction.atomic
def end_representation(*, person: User, representation_id, actor: Actor) -> bool:
    """The person withdraws a declaration, or stops representing the business."""
    updated = (
        Representation.objects.filter(person=person, public_id=representation_id)
        .exclude(status=Representation.Status.ENDED)
        .update(status=Representation.Status.ENDED, ended_at=timezone.now())
    )
    if updated:
        audit.record(
            actor=actor,
            action="identity.representation_ended",
            object_type="representation",
            object_id=representation_id,
        )
    return bool(updated)


@transaction.atomic
def act_as(*, session: AccountSession, kind: str, public_id: str, actor: Actor) -> selectors.Principal:
    """Make a signed-in session act for the person themself ("self"), a business they represent (confirmed)
    or a person who delegated to them (live). Raises PermissionDenied otherwise."""
    if (session.acting_for or {}).get("kind") == "assisted":
        raise PermissionDenied(_("End the assisted session first."))
    user = session.user
    if kind == "self":
        acting_for = {}
    elif (
        kind == "business"
        and selectors.confirmed_representations(user).filter(business__public_id=public_id).exists()
    ):
        acting_for = {"kind": "business", "id": str(public_id)}
    elif (
        kind == "person"
        and selectors.live_delegations_received(user).filter(delegator__public_id=public_id).exists()
    ):
        acting_for = {"kind": "person", "id": str(public_id)}
    else:
        raise PermissionDenied(_("You may not act for them."))
    session.acting_for = acting_for
    session.save(update_fields=["acting_for"])
    principal = selectors.principal_for_session(session)
    audit.record(
        actor=actor,
        action="identity.acting_for_changed",
        object_type="account_session",
        object_id=session.id,
        data={"acting_for": principal.reference},
    )
    return principal
