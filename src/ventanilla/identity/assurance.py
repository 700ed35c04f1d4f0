"""Level high and assisted digital: what officials (registrars) do for people who come to an office or an
InfoPlaza.

- An identity check records that an official saw the person's identity document. A session's level is
  computed when the person authenticates (authn.start / authn.add_factor), so sessions already open keep the
  level they had: the person reaches high at their next sign-in or step-up with a second factor. Raising open
  sessions here would give level high to a browser that proved nothing new.
- An assisted session lets an official act for a citizen who is present and agreed. It is carried on the
  official's own AccountSession as acting_for = {"kind": "assisted", "id": <AssistedSession public_id>}, from
  which identity.selectors builds the audit Actor "official X for citizen Y".
"""

from dataclasses import replace

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.core import audit
from ventanilla.core.actor import Actor
from ventanilla.core.identifiers import InvalidIdentifier, normalize_passport, parse_cedula

from .models import AccountSession, AssistedSession, DocumentType, IdentityCheck, StaffRole, User

ASSISTED_CHANNELS = ("office", "infoplaza", "phone311")  # phone311: a 311 agent, the citizen on the line


def canonical_document_number(document_type: str, number: str) -> str:
    """A document number as accounts hold it; raises InvalidIdentifier for what cannot be one."""
    if document_type == DocumentType.CEDULA:
        return parse_cedula(number).canonical
    return normalize_passport(number)


def registrar_roles(user: User):
    if not user.is_authenticated:
        return StaffRole.objects.none()
    return StaffRole.objects.filter(user=user, role=StaffRole.Role.REGISTRAR).order_by("granted_at")


def is_registrar(user: User) -> bool:
    return registrar_roles(user).exists()


def default_place(user: User) -> str:
    role = registrar_roles(user).exclude(place="").first()
    return role.place if role else ""


def find_person(*, document_type: str, document_number: str, nationality: str = "") -> User | None:
    """The active account holding exactly this document (a cédula is always Panamanian); None if there is
    none or the number cannot be a document number."""
    try:
        number = canonical_document_number(document_type, document_number)
    except InvalidIdentifier:
        return None
    nationality = "PAN" if document_type == DocumentType.CEDULA else nationality.strip().upper()
    return User.objects.filter(
        document_type=document_type, nationality=nationality, document_number=number, is_active=True
    ).first()


def active_assisted_session(account_session: AccountSession | None) -> AssistedSession | None:
    """The assisted session an official's browser session is in, if any."""
    acting_for = (account_session.acting_for or {}) if account_session else {}
    if acting_for.get("kind") != "assisted":
        return None
    return (
        AssistedSession.objects.select_related("citizen")
        .filter(public_id=acting_for.get("id"), official=account_session.user, ended_at__isnull=True)
        .first()
    )


def _require_registrar(official: User) -> None:
    if not is_registrar(official):
        raise PermissionError("Only registrars verify identity and assist citizens.")


@transaction.atomic
def grant_staff_role(*, user: User, role: str, institution=None, place: str = "", actor: Actor) -> StaffRole:
    """Give an official a role (at an institution, at a place); granting it again updates the place."""
    staff_role, _created = StaffRole.objects.update_or_create(
        user=user, role=role, institution=institution, defaults={"place": place}
    )
    audit.record(
        actor=actor,
        action="identity.staff_role_granted",
        object_type="user",
        object_id=user.public_id,
        data={"role": role, "institution": getattr(institution, "code", None), "place": place},
    )
    return staff_role


@transaction.atomic
def record_identity_check(
    *,
    person: User,
    official: User,
    document_type: str,
    document_number: str,
    document_expiry,
    place: str,
    notes: str = "",
    actor: Actor,
) -> IdentityCheck:
    """The official saw the person's document, and it is the document of this account and still valid."""
    _require_registrar(official)
    if person.pk == official.pk:
        raise ValidationError(_("Another official must check your own identity."))
    try:
        number = canonical_document_number(document_type, document_number)
    except InvalidIdentifier as error:
        raise ValidationError({"document_number": error.messages}) from error
    if document_type != person.document_type or number != person.document_number:
        raise ValidationError(
            {
                "document_number": _(
                    "The document you have in front of you is not the one this account was registered with. "
                    "Do not record the check."
                )
            }
        )
    if document_expiry is not None and document_expiry < timezone.localdate():
        raise ValidationError({"document_expiry": _("The document has expired: it cannot be used.")})
    check = IdentityCheck.objects.create(
        person=person,
        official=official,
        document_type=document_type,
        document_number=number,
        document_expiry=document_expiry,
        place=place,
        notes=notes,
    )
    person.identity_verified_at = timezone.now()
    person.save(update_fields=["identity_verified_at"])
    audit.record(
        actor=actor,
        action="identity.identity_checked",
        object_type="user",
        object_id=person.public_id,
        data={
            "check": str(check.public_id),
            "official": f"user:{official.public_id}",
            "person": f"user:{person.public_id}",
            "place": place,
            "document_type": document_type,
        },
    )
    return check


def _end(assisted: AssistedSession, *, actor: Actor) -> bool:
    ended = AssistedSession.objects.filter(id=assisted.id, ended_at__isnull=True).update(
        ended_at=timezone.now()
    )
    if ended:
        audit.record(
            actor=replace(actor, on_behalf_of=f"user:{assisted.citizen.public_id}", channel=assisted.channel),
            action="identity.assisted_session_ended",
            object_type="assisted_session",
            object_id=assisted.public_id,
            data={
                "official": f"user:{assisted.official.public_id}",
                "citizen": f"user:{assisted.citizen.public_id}",
            },
        )
    return bool(ended)


@transaction.atomic
def start_assisted_session(
    *,
    official: User,
    citizen: User,
    account_session: AccountSession,
    channel: str,
    place: str,
    agreement: str,
    actor: Actor,
) -> AssistedSession:
    """From now on the official's browser session acts for the citizen. An official assists one citizen at a
    time: any assisted session of theirs still open (a browser closed without ending it) ends here."""
    _require_registrar(official)
    if account_session.user_id != official.pk or account_session.ended_at is not None:
        raise PermissionError("The session is not the official's own live session.")
    if citizen.pk == official.pk:
        raise ValidationError(_("You cannot assist yourself."))
    if channel not in ASSISTED_CHANNELS:
        raise ValidationError(
            {"channel": _("Choose where the citizen is: at an office, at an InfoPlaza or on a 311 call.")}
        )
    for stale in AssistedSession.objects.select_related("citizen", "official").filter(
        official=official, ended_at__isnull=True
    ):
        _end(stale, actor=actor)
    assisted = AssistedSession.objects.create(
        official=official, citizen=citizen, channel=channel, place=place, agreement=agreement
    )
    account_session.acting_for = {"kind": "assisted", "id": str(assisted.public_id)}
    account_session.save(update_fields=["acting_for"])
    audit.record(
        actor=replace(actor, on_behalf_of=f"user:{citizen.public_id}", channel=channel),
        action="identity.assisted_session_started",
        object_type="assisted_session",
        object_id=assisted.public_id,
        data={
            "official": f"user:{official.public_id}",
            "citizen": f"user:{citizen.public_id}",
            "place": place,
            "channel": channel,
            "agreement": agreement,
        },
    )
    return assisted


@transaction.atomic
def end_assisted_session(*, account_session: AccountSession, actor: Actor) -> AssistedSession | None:
    """The official stops acting for the citizen. Ending twice (a double click) is harmless."""
    assisted = active_assisted_session(account_session)
    if account_session.acting_for.get("kind") == "assisted":
        account_session.acting_for = {}
        account_session.save(update_fields=["acting_for"])
    if assisted is None:
        return None
    _end(assisted, actor=actor)
    return assisted
