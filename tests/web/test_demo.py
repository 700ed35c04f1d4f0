"""`ventanilla demo`: the README's demo people reach the levels it promises, and running it twice is harmless."""

import io
import time

import pyotp
from django.core.management import call_command

from ventanilla.identity.models import AccountSession, RelyingParty, Representation, User
from ventanilla.identity.selectors import keys_of_person


def run_demo() -> str:
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_demo_people_sign_in_at_their_levels(client, small_catalogue):
    printed = run_demo()
    again = run_demo()
    assert User.objects.filter(username__startswith="8-100-").count() == 4
    assert RelyingParty.objects.filter(client_id="demo-rp").count() == 1
    assert Representation.objects.get().status == "confirmed"
    key = next(line for line in again.splitlines() if line.startswith("8-100-103")).split()[-1]
    assert key in printed  # the same authenticator key on every run

    signed_in = client.post("/en/entrar/", {"identifier": "8-100-103", "password": "demo-ventanilla-2026"})
    assert "/verificacion-adicional/" in signed_in["Location"]
    # The demo spent the current code setting the app up; the next one is accepted (one step of tolerance).
    step_up = client.post(signed_in["Location"], {"code": pyotp.TOTP(key).at(time.time() + 30)})
    assert step_up.status_code == 302
    assert AccountSession.objects.get(user__username="8-100-103", ended_at=None).level == "high"


def test_demo_gives_the_reference_services_officials_and_cases_at_every_stage(
    db, system_actor, settings, tmp_path
):

    from ventanilla.cases import selectors
    from ventanilla.cases.models import Case
    from ventanilla.catalogue import services as catalogue

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # many demo accounts
    settings.VAR_DIR = tmp_path  # the demo's sample foreign documents are written there
    catalogue.load_reference_data(path=settings.VENTANILLA_REFERENCE_DATA, actor=system_actor)
    call_command("services", "load-reference", stdout=io.StringIO())

    printed = run_demo()
    run_demo()

    cases = {
        case.version.service.procedure.code: case for case in Case.objects.select_related("version__service")
    }
    assert len(cases) == 5  # the second run made none
    stages = {code: (case.stage, case.state) for code, case in cases.items()}
    assert stages["TE-CERT-NACIMIENTO"] == ("draft", "")
    assert stages["MUN-PANAMA-PERMISO-CONSTRUCCION"] == ("open", "technical_review")
    assert stages["DGI-PAZ-Y-SALVO"] == ("with_applicant", "pending_regularisation")
    assert stages["MICI-AVISO-OPERACION"] == ("closed", "registered")
    # Its fee is left for the demo person to pay online; the building permit's was paid at the counter.
    assert stages["MITRADEL-PERMISO-TRABAJO-EXTRANJERO"] == ("awaiting_payment", "received")
    assert cases["MICI-AVISO-OPERACION"].subject.startswith("business:")
    # The officials who work on them hold the roles their queues need, and sign in with an authenticator app.
    reviewer = User.objects.get(username="jefa.mupa")
    assert selectors.roles_of(reviewer, cases["MUN-PANAMA-PERMISO-CONSTRUCCION"].institution) == {
        "reviewer",
        "approver",
        "supervisor",
        "treasurer",
    }
    assert selectors.case_for_official(reviewer, cases["MUN-PANAMA-PERMISO-CONSTRUCCION"].reference)
    line = next(line for line in printed.splitlines() if line.startswith("jefe.te "))
    assert "TE reviewer+supervisor+treasurer" in line and "authenticator key" in line
    # What the demo people owe: Ana to two institutions, the business its tax and its work permit's fee.
    from ventanilla.payments import selectors as payments

    ana = User.objects.get(username="8-100-101")
    assert sorted(o.institution.code for o in payments.owed(keys_of_person(ana))) == [
        "ATTT",
        "MUN-PANAMA",
    ]
    owed_by_business = payments.owed(
        {cases["MITRADEL-PERMISO-TRABAJO-EXTRANJERO"].subject, "ruc:155700001-2-2020"}
    )
    assert sorted(str(o.amount) for o in owed_by_business) == ["250.00", "45.00"]
    assert "paid at the counter: receipt REC-" in printed
    # Ana's driving licence, and a foreign issuer whose sample document verifies; the approved notice of
    # operation is issued its output when the workers deliver the decision.
    from ventanilla.core.models import EventDelivery
    from ventanilla.core.tasks import deliver_event
    from ventanilla.documents import verification
    from ventanilla.documents.models import Document

    licence = Document.objects.get(source="DEMO-LICENCIA-0001")
    assert (licence.holder, verification.status_of(licence)) == (f"user:{ana.public_id}", "valid")
    foreign = verification.verify_pdf((tmp_path / "demo" / "documento-extranjero.pdf").read_bytes())
    assert (foreign.status, foreign.foreign.country) == ("valid", "CRI")
    unknown = verification.verify_pdf((tmp_path / "demo" / "documento-emisor-desconocido.pdf").read_bytes())
    assert unknown.status == "unknown_issuer"
    for delivery in EventDelivery.objects.filter(subscriber__startswith="ventanilla.documents"):
        deliver_event.call(delivery_id=str(delivery.id))
    notice = Document.objects.get(source=f"case:{cases['MICI-AVISO-OPERACION'].reference}/1")
    assert (notice.holder, notice.kind) == (cases["MICI-AVISO-OPERACION"].subject, "licence")
