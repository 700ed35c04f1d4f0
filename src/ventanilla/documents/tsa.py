"""The platform's RFC 3161 timestamp authority. pyHanko's responder does the protocol; this module gives it the
platform's TSA certificate and key and the platform's own policy. The same authority timestamps every signed PDF
in-process and answers anyone over HTTP at /tsa."""

import threading

from asn1crypto import cms, core, tsp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from django.conf import settings
from pyhanko.sign import general
from pyhanko.sign.general import simple_cms_attribute
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from . import keys, plugins

CONTENT_TYPE_QUERY, CONTENT_TYPE_REPLY = "application/timestamp-query", "application/timestamp-reply"
ACCEPTED_DIGESTS = {"sha256", "sha384", "sha512"}


class Rejection(core.Sequence):
    """A TimeStampResp without a token (asn1crypto's schema requires one, RFC 3161 does not when refusing)."""

    _fields = [("status", tsp.PKIStatusInfo)]


class PlatformTimeStamper(DummyTimeStamper):
    def __init__(self, *, private_key, **kwargs):
        # pyHanko reads its own tsa_key only in the _sign_tst_info replaced below.
        super().__init__(tsa_key=None, **kwargs)
        self.private_key = private_key

    def _build_tst_info(self, message_imprint, dt, req):
        info = super()._build_tst_info(message_imprint, dt, req)
        info["policy"] = tsp.ObjectIdentifier(settings.VENTANILLA_TSA_POLICY)
        return info

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt):
        # pyHanko's responder loads its RSA key again for every stamp, and loading validates the key: about 35 ms
        # of a 3072-bit key, more than the rest of signing a PDF. This one keeps the key loaded.
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        attributes = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                simple_cms_attribute("signing_certificate", general.as_signing_certificate(self.tsa_cert)),
                simple_cms_attribute("message_digest", digest.finalize()),
            ]
        )
        signature = self.private_key.sign(
            attributes.dump(), PKCS1v15(), get_pyca_cryptography_hash(md_algorithm.upper())
        )
        return signature, attributes


_this_thread = threading.local()


def timestamper() -> PlatformTimeStamper:
    """This thread's stamper for the authority's certificate in use. It keeps the key loaded and remembers how
    long its answers are (otherwise pyHanko stamps twice per signature to find out); it is never shared between
    threads, because asn1crypto parses certificates as they are read and one object read by two threads at once
    can be seen half-parsed."""
    certificate = keys.tsa()
    serial, stamper = getattr(_this_thread, "stamper", (None, None))
    if serial != certificate.serial:
        stamper = PlatformTimeStamper(
            tsa_cert=keys.asn1(certificate),
            private_key=plugins.current().private_key(certificate.key_alias),
            certs_to_embed=[keys.asn1(keys.ca())],
        )
        _this_thread.stamper = (certificate.serial, stamper)
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
