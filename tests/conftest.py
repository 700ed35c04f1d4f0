"""Fixtures every test may use: a small catalogue, users with catalogue roles, citizens at each level of
assurance, API clients."""

from decimal import Decimal

import pyotp
import pytest
from django.core.files.storage import FileSystemStorage
from django.test import Client
from django.utils import timezone

from ventanilla.cases.models import private_storage
from ventanilla.catalogue import search
from ventanilla.catalogue.models import CatalogueRole, Fee, Institution, Procedure, Requirement, Topic
from ventanilla.core.actor import Actor
from ventanilla.identity import factors
from ventanilla.identity import services as identity
from ventanilla.identity.models import DocumentType, IdentityCheck, TotpDevice, User

PASSWORD = "a long passphrase nobody guesses"

# The online services' fixtures (a published service, its officials, submitted cases) and the payments' (a
# provider in the test process, obligations), shared by their tests and the browser tests.
pytest_plugins = ["tests.cases.fixtures", "tests.payments.fixtures", "tests.documents.fixtures"]


@pytest.fixture
def system_actor():
    return Actor.system("tests")


@pytest.fixture(autouse=True)
def private_files_in_a_temporary_folder(monkeypatch, tmp_path):
    """Uploaded evidence goes to the test's own folder, never to ./var."""
    monkeypatch.setattr(private_storage, "_wrapped", FileSystemStorage(location=tmp_path / "private"))


_key_pool: dict = {}


@pytest.fixture(autouse=True)
def keys_in_a_temporary_folder(settings, tmp_path, monkeypatch):
    """Signing keys go to the test's own folder. Making an RSA 3072 key takes up to a second, so one key per kind of
    certificate (CA, TSA, institution) is made once per session and written under every alias a test asks for
    (each test's database is new)."""
    from ventanilla.documents.plugins.files import FileKeyStore

    settings.VENTANILLA_KEYS_DIR = tmp_path / "keys"
    generate = FileKeyStore.generate

    def pooled(store, alias, algorithm):
        kind = alias.split("-", 1)[0]
        if kind not in _key_pool:
            generate(store, f"pool-{kind}", algorithm)
            _key_pool[kind] = store._path(f"pool-{kind}").read_bytes()
        store._path(alias).write_bytes(_key_pool[kind])
        return store.private_key(alias).public_key()

    monkeypatch.setattr(FileKeyStore, "generate", pooled)


@pytest.fixture
def run_tasks_immediately(settings):
    """Background tasks run at once, in the request that queues them (mail lands in mail.outbox)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def small_catalogue(db):
    """Two institutions, two topics and four procedures (one draft), indexed for search."""
    te = Institution.objects.create(
        code="TE", kind="other", name_es="Tribunal Electoral", name_en="Electoral Tribunal"
    )
    mupa = Institution.objects.create(
        code="MUN-PANAMA",
        kind="municipality",
        name_es="Municipio de Panamá",
        name_en="Municipality of Panamá",
    )
    identity_topic = Topic.objects.create(
        code="identity", kind="topic", name_es="Identidad", name_en="Identity"
    )
    building = Topic.objects.create(
        code="construction", kind="topic", name_es="Construcción", name_en="Construction"
    )

    def make(
        code, institution, title_es, title_en, *, status="published", level=2, audience="citizen", topic=None
    ):
        procedure = Procedure.objects.create(
            code=code,
            institution=institution,
            title_es=title_es,
            title_en=title_en,
            description_es=f"Descripción de {title_es}.",
            description_en=f"Description of {title_en}.",
            audience=audience,
            channels=["office"],
            level=level,
            status=status,
            languages=["es"],
        )
        if topic:
            procedure.topics.add(topic)
        return procedure

    cedula = make(
        "TE-CEDULA-RENOVACION",
        te,
        "Renovación de cédula",
        "Identity card renewal",
        level=3,
        topic=identity_topic,
    )
    Requirement.objects.create(
        procedure=cedula,
        name_es="Cédula vencida",
        name_en="Expired identity card",
        issuer=te,
        held_by_state=True,
    )
    Fee.objects.create(procedure=cedula, amount=Decimal("5.00"), currency="USD")
    permit = make(
        "MUN-PANAMA-PERMISO-CONSTRUCCION",
        mupa,
        "Permiso de construcción",
        "Building permit",
        audience="both",
        topic=building,
    )
    make(
        "TE-CERTIFICADO-NACIMIENTO",
        te,
        "Certificado de nacimiento",
        "Birth certificate",
        level=4,
        topic=identity_topic,
    )
    make("TE-BORRADOR", te, "Trámite en borrador", "Draft procedure", status="draft")
    search.reindex()
    return {"te": te, "mupa": mupa, "cedula": cedula, "permit": permit}


def add_authenticator_app(user) -> None:
    """A confirmed authenticator app; its base32 secret is kept in `user.totp_secret` for making codes."""
    user.totp_secret = pyotp.random_base32()
    TotpDevice.objects.create(
        user=user,
        name="phone",
        encrypted_secret=factors.encrypt_secret(user.totp_secret),
        confirmed_at=timezone.now(),
    )


@pytest.fixture
def make_user(db, system_actor):
    counter = {"n": 0}

    def make(*, role=None, institution=None, staff=True):
        """An official, with an authenticator app (officials' pages need a second factor)."""
        counter["n"] += 1
        user = identity.create_user(
            username=f"user{counter['n']}",
            email=f"user{counter['n']}@example.org",
            password=PASSWORD,
            is_staff=staff,
            actor=system_actor,
        )
        add_authenticator_app(user)
        if role:
            CatalogueRole.objects.create(user=user, role=role, institution=institution)
        return user

    return make


@pytest.fixture
def api_client_for(system_actor):
    """A test client that sends a bearer token for the given user."""

    def make(user, language="en"):
        token = identity.issue_api_token(user=user, name="test", actor=system_actor)
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE=language)

    return make


@pytest.fixture
def make_citizen(db):
    """make_citizen(level="low"|"substantial"|"high") → a person with a verified email and a cédula.
    substantial and high have an authenticator app whose base32 secret is in `citizen.totp_secret`."""
    counter = {"n": 0}

    def make(*, level="low", email=None, password=PASSWORD, language="es"):
        counter["n"] += 1
        number = f"8-{700 + counter['n']}-{1000 + counter['n']}"
        user = User.objects.create_user(
            username=number,
            email=email or f"persona{counter['n']}@example.org",
            password=password,
            first_name="María",
            last_name=f"Pérez {counter['n']}",
            document_type=DocumentType.CEDULA,
            document_number=number,
            nationality="PAN",
            preferred_language=language,
            email_verified_at=timezone.now(),
        )
        user.totp_secret = None
        if level in ("substantial", "high"):
            add_authenticator_app(user)
        if level == "high":
            official = User.objects.create_user(username=f"official{counter['n']}", password=password)
            IdentityCheck.objects.create(
                person=user,
                official=official,
                document_type=DocumentType.CEDULA,
                document_number=number,
                place="InfoPlaza de prueba",
            )
            user.identity_verified_at = timezone.now()
            user.save(update_fields=["identity_verified_at"])
        return user

    return make
