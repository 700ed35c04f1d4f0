"""The driving licence as an SD-JWT VC, checked over real HTTP by a verifier built with another SD-JWT library
(the OpenWallet Foundation's TypeScript @sd-jwt/sd-jwt-vc in tests/node/sdjwt.mjs): it fetches the issuer's keys
from the published metadata and the Token Status List from the credential's URI."""

import json
import subprocess
from pathlib import Path

import pytest

from ventanilla.documents import credentials, services

NODE = Path(__file__).resolve().parents[1] / "node"


def node_verify(credential: str, disclose: list[str]) -> dict:
    if not (NODE / "node_modules" / "@sd-jwt" / "sd-jwt-vc").exists():
        pytest.fail("Install the Node test tools first: npm ci --prefix tests/node")
    done = subprocess.run(
        ["node", str(NODE / "sdjwt.mjs")],
        input=json.dumps({"credential": credential, "disclose": disclose}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def public_url(live_server, settings):
    settings.VENTANILLA_PUBLIC_URL = live_server.url
    return live_server.url


def test_another_library_verifies_the_licence_and_disclosure_hides_the_address(
    transactional_db, public_url, issue, make_citizen, system_actor
):
    citizen = make_citizen()
    licence = issue(citizen)
    issued = services.issue_credential(document=licence, holder_key=None, actor=system_actor)

    answer = node_verify(issued, disclose=["vehicle_categories"])
    assert "error" not in answer, answer
    assert answer["header"]["typ"] == "dc+sd-jwt"
    assert answer["claims"]["iss"] == f"{public_url}/issuers/ATTT"
    assert answer["claims"]["address"].startswith("Calle 50")  # the holder's own copy discloses everything
    shown = answer["presented_claims"]
    assert shown["vehicle_categories"] == ["B"]
    for hidden in ("address", "birthdate", "holder_name", "holder_id"):
        assert hidden not in shown
    assert "Calle 50" not in answer["presentation"].split("~", 1)[1]  # no disclosure of it travels at all

    # The platform's own verifier agrees on what was shown.
    verdict = credentials.verify_presentation(answer["presentation"])
    assert (verdict.status, verdict.status_checked) == ("valid", True)
    assert verdict.disclosed == {"vehicle_categories": ["B"]}


def test_a_revoked_credential_fails_in_the_other_library(
    transactional_db, public_url, issue, make_citizen, system_actor
):
    licence = issue(make_citizen())
    issued = services.issue_credential(document=licence, holder_key=None, actor=system_actor)
    assert "error" not in node_verify(issued, disclose=[])
    services.revoke_document(document=licence, reason="Suspendida", actor=system_actor)
    refused = node_verify(issued, disclose=[])
    assert "Status is not valid" in refused.get("error", ""), refused
    assert credentials.verify_presentation(issued).status == "revoked"


def test_tampered_and_unknown_credentials(db, issue, make_citizen, system_actor):
    issued = services.issue_credential(document=issue(make_citizen()), holder_key=None, actor=system_actor)
    jwt = issued.split("~")[0]
    forged_disclosure = credentials._b64(json.dumps(["salt", "vehicle_categories", ["A", "B", "C"]]).encode())
    assert credentials.verify_presentation(f"{jwt}~{forged_disclosure}~").status == "tampered"
    header, payload, signature = jwt.split(".")
    claims = json.loads(credentials.base64.urlsafe_b64decode(payload + "=="))
    claims["iss"] = "https://issuer.example/unknown"
    other = credentials._b64(json.dumps(claims).encode())
    assert credentials.verify_presentation(f"{header}.{other}.{signature}~").status == "unknown_issuer"
    assert credentials.verify_presentation("not a credential").status == "unreadable"


def test_a_revoked_or_expired_document_is_not_issued_as_a_credential(db, issue, make_citizen, system_actor):
    licence = issue(make_citizen())
    services.revoke_document(document=licence, reason="Suspendida", actor=system_actor)
    with pytest.raises(services.DocumentError):
        services.issue_credential(document=licence, holder_key=None, actor=system_actor)


def test_the_verification_page_shows_only_what_was_disclosed(db, issue, make_citizen, system_actor):
    from django.test import Client
    from sd_jwt.holder import SDJWTHolder

    issued = services.issue_credential(document=issue(make_citizen()), holder_key=None, actor=system_actor)
    holder = SDJWTHolder(issued)
    holder.create_presentation({"vehicle_categories": True})
    page = Client().post("/en/verificar/credencial/", {"presentation": holder.sd_jwt_presentation})
    text = page.content.decode()
    assert page.status_code == 200
    assert "Valid:" in text and "vehicle_categories" in text
    assert "Calle 50" not in text and "birthdate" not in text
    empty = Client().post("/verificar/credencial/", {"presentation": ""})
    assert empty.status_code == 400 and "Pegue la credencial" in empty.content.decode()
