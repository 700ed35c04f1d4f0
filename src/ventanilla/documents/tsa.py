"""The platform's RFC 3161 timestamp authority. pyHanko's responder does the protocol; this module gives it the
platform's TSA certificate and key and the platform's own policy. The same authority timestamps every signed PDF
in-process and answers anyone over HTTP at /tsa."""

from asn1crypto import core, tsp
from django.conf import settings
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from . import keys, plugins

CONTENT_TYPE_QUERY, CONTENT_TYPE_REPLY = "application/timestamp-query", "application/timestamp-reply"
ACCEPTED_DIGESTS = {"sha256", "sha384", "sha512"}


class Rejection(core.Sequence):
    """A TimeStampResp without a token (asn1crypto's schema requires one, RFC 3161 does not when refusing)."""

    _fields = [("status", tsp.PKIStatusInfo)]


class PlatformTimeStamper(DummyTimeStamper):
    def _build_tst_info(self, message_imprint, dt, req):
        info = super()._build_tst_info(message_imprint, dt, req)
        info["policy"] = tsp.ObjectIdentifier(settings.VENTANILLA_TSA_POLICY)
        return info


_cache: dict[str, PlatformTimeStamper] = {}


def timestamper() -> PlatformTimeStamper:
    certificate = keys.tsa()
    stamper = _cache.get(certificate.serial)
    if stamper is None:
        stamper = PlatformTimeStamper(
            tsa_cert=keys.asn1(certificate),
            tsa_key=plugins.current().pyhanko_key(certificate.key_alias),
            certs_to_embed=[keys.asn1(keys.ca())],
        )
        _cache.clear()
        _cache[certificate.serial] = stamper
    return stamper


def respond(query: bytes) -> bytes:
    """The DER TimeStampResp for a DER TimeStampReq: granted, or rejected with the reason RFC 3161 names."""
    try:
        request = tsp.TimeStampReq.load(query)
        algorithm = request["message_imprint"]["hash_algorithm"]["algorithm"].native
        request["message_imprint"]["hashed_message"].native  # noqa: B018  (parses the whole request now)
    except (ValueError, TypeError, KeyError):
        return _rejection("bad_data_format", "The request is not a DER-encoded RFC 3161 TimeStampReq.")
    if algorithm not in ACCEPTED_DIGESTS:
        return _rejection("bad_alg", f"Use one of {', '.join(sorted(ACCEPTED_DIGESTS))}, not {algorithm}.")
    if request["req_policy"].native not in (None, settings.VENTANILLA_TSA_POLICY):
        return _rejection(
            "unaccepted_policy", f"This authority stamps under {settings.VENTANILLA_TSA_POLICY}."
        )
    return timestamper().request_tsa_response(request).dump()


def _rejection(failure: str, text: str) -> bytes:
    status = tsp.PKIStatusInfo(
        {"status": "rejection", "status_string": [text], "fail_info": tsp.PKIFailureInfo({failure})}
    )
    return Rejection({"status": status}).dump()
