"""Browser sessions: the one place that starts a person's session, raises its level of assurance and ends it.

Every way in (password, a second factor, an official's assisted session) goes through here, so the level a
session has reached, the methods used (amr) and the time of authentication are always recorded the same way
and carried unchanged into OpenID Connect tokens.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from importlib import import_module
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from ventanilla.core import audit, events

from .models import AccountSession, Level, SignInRecord, User

SESSION_KEY = "ventanilla_account_session"
ORDER = {Level.LOW: 0, Level.SUBSTANTIAL: 1, Level.HIGH: 2}
ACR_PREFIX = "urn:ventanilla:loa:"
SECOND_FACTORS = {"otp", "hwk", "rc"}  # authenticator app, WebAuthn key or passkey, recovery code
LAST_SEEN_RESOLUTION = 60  # seconds; last_seen_at is written at most this often


def acr_for(level: str) -> str:
    return ACR_PREFIX + level


def level_from_acr(acr: str) -> str | None:
    level = acr.removeprefix(ACR_PREFIX)
    return level if acr.startswith(ACR_PREFIX) and level in Level.values else None


def satisfies(level: str, required: str) -> bool:
    return ORDER[Level(level)] >= ORDER[Level(required)]


def level_reached(user: User, amr: list[str]) -> str:
    """low: a password. substantial: plus a second factor. high: substantial, and identity checked in person."""
    if not SECOND_FACTORS.intersection(amr):
        return Level.LOW
    return Level.HIGH if user.identity_verified_at else Level.SUBSTANTIAL


def highest_level_possible(user: User) -> str:
    """The level this person could reach now by stepping up online (anyone may set up a second factor)."""
    return Level.HIGH if user.identity_verified_at else Level.SUBSTANTIAL


@dataclass(frozen=True)
class Authentication:
    user: User
    session: AccountSession

    @property
    def level(self) -> str:
        return self.session.level

    @property
    def amr(self) -> list[str]:
        return list(self.session.amr)

    @property
    def auth_time(self) -> datetime:
        return self.session.auth_time

    @property
    def sid(self) -> str:
        return str(self.session.id)


def client_address(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _actor(request, user):
    from .selectors import actor_for

    return actor_for(user)


@transaction.atomic
def start(request, user: User, *, method: str, service=None) -> AccountSession:
    """Sign `user` in with a first factor (normally "pwd"); replaces any session this browser had."""
    if request.user.is_authenticated:
        end(request)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session.save()  # fixes the session key
    now = timezone.now()
    session = AccountSession.objects.create(
        user=user,
        session_key=request.session.session_key,
        level=level_reached(user, [method]),
        amr=[method],
        auth_time=now,
        ip_address=client_address(request),
        user_agent=request.headers.get("User-Agent", "")[:300],
    )
    request.session[SESSION_KEY] = str(session.id)
    SignInRecord.objects.create(
        user=user,
        service=service,
        session=session,
        level=session.level,
        method=method,
        ip_address=session.ip_address,
    )
    audit.record(
        actor=_actor(request, user),
        action="identity.signed_in",
        object_type="account_session",
        object_id=session.id,
        data={"method": method, "level": session.level},
    )
    return session


@transaction.atomic
def add_factor(request, *, method: str) -> AccountSession:
    """Record a second factor just verified for the signed-in person; the session's level rises."""
    authentication = current(request)
    if authentication is None:
        raise PermissionError("No signed-in session to raise.")
    session = authentication.session
    before = session.level
    session.amr = sorted({*session.amr, method})
    session.level = level_reached(authentication.user, session.amr)
    session.auth_time = timezone.now()
    request.session.cycle_key()  # a new level is a new session id for the browser (no fixation)
    request.session.save()
    session.session_key = request.session.session_key
    session.save(update_fields=["amr", "level", "auth_time", "session_key"])
    SignInRecord.objects.create(
        user=authentication.user,
        session=session,
        level=session.level,
        method="+".join(session.amr),
        ip_address=client_address(request),
    )
    audit.record(
        actor=_actor(request, authentication.user),
        action="identity.level_raised",
        object_type="account_session",
        object_id=session.id,
        data={"method": method, "from": before, "to": session.level},
    )
    return session


def current(request) -> Authentication | None:
    """The signed-in person and how they authenticated, or None (also for a session ended elsewhere)."""
    cached = getattr(request, "_ventanilla_authentication", False)
    if cached is not False:
        return cached
    authentication = None
    session_id = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if session_id and request.user.is_authenticated:
        session = (
            AccountSession.objects.select_related("user")
            .filter(id=session_id, user=request.user, ended_at__isnull=True)
            .first()
        )
        if session is not None:
            now = timezone.now()
            if (now - session.last_seen_at).total_seconds() > LAST_SEEN_RESOLUTION:
                AccountSession.objects.filter(id=session.id).update(last_seen_at=now)
            authentication = Authentication(user=session.user, session=session)
    request._ventanilla_authentication = authentication
    return authentication


def step_up_url(*, next_url: str, level: str) -> str:
    return reverse("identity:step-up") + "?" + urlencode({"next": next_url, "level": level})


def required(level: str = Level.LOW):
    """For pages of any app that need a signed-in session at `level`: sign in first, then step up, then back.
    The view finds the session in request.authentication."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            authentication = current(request)
            if authentication is None:
                return redirect_to_login(request.get_full_path())
            if not satisfies(authentication.level, level):
                return redirect(step_up_url(next_url=request.get_full_path(), level=level))
            request.authentication = authentication
            return view(request, *args, **kwargs)

        return never_cache(wrapper)

    return decorate


def end(request) -> None:
    """Sign out of this browser (and, through the session_ended event, of the services signed in with it)."""
    authentication = current(request)
    if authentication is not None:
        _mark_ended(authentication.session, actor=_actor(request, authentication.user))
    logout(request)
    request._ventanilla_authentication = None


@transaction.atomic
def end_session(*, session: AccountSession, actor) -> None:
    """End a session from elsewhere (the account page's "sign out that device", an operator)."""
    import_module(settings.SESSION_ENGINE).SessionStore(session_key=session.session_key).delete()
    _mark_ended(session, actor=actor)


def _mark_ended(session: AccountSession, *, actor) -> None:
    updated = AccountSession.objects.filter(id=session.id, ended_at__isnull=True).update(
        ended_at=timezone.now()
    )
    if not updated:
        return
    audit.record(
        actor=actor, action="identity.signed_out", object_type="account_session", object_id=session.id
    )
    events.emit(
        "identity.session_ended",
        subject=f"user:{session.user.public_id}",
        payload={"sid": str(session.id), "user": str(session.user.public_id)},
    )
