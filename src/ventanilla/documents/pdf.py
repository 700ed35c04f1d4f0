"""The official PDF: one layout per kind of document (certificate, permit, licence, receipt) in Spanish or English,
with a QR code and the verification code that lead to the public verification page, then signed PAdES (B-T) by the
institution's certificate and timestamped by the platform's timestamp authority, using pyHanko."""

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from . import keys, plugins, tsa
from .models import Certificate, Document


@dataclass(frozen=True)
class Layout:
    heading: str
    statement: str  # what the institution declares, before the fields
    accent: colors.Color


LAYOUTS = {
    Document.Kind.CERTIFICATE: Layout(
        gettext_lazy("Certificate"),
        gettext_lazy("%(institution)s certifies that its records show the following."),
        colors.HexColor("#1d4f91"),
    ),
    Document.Kind.PERMIT: Layout(
        gettext_lazy("Permit"),
        gettext_lazy("%(institution)s grants %(holder)s the permit described below."),
        colors.HexColor("#2d6a3e"),
    ),
    Document.Kind.LICENCE: Layout(
        gettext_lazy("Licence"),
        gettext_lazy("%(institution)s grants %(holder)s the licence described below."),
        colors.HexColor("#7a3b00"),
    ),
    Document.Kind.RECEIPT: Layout(
        gettext_lazy("Receipt"),
        gettext_lazy("%(institution)s acknowledges the payment described below from %(holder)s."),
        colors.HexColor("#4a4a4a"),
    ),
}

_base = ParagraphStyle("base", fontName="Helvetica", fontSize=10, leading=13)
STYLES = {
    "site": ParagraphStyle("site", parent=_base, fontSize=9, textColor=colors.HexColor("#555555")),
    "institution": ParagraphStyle("institution", parent=_base, fontName="Helvetica-Bold", fontSize=12),
    "heading": ParagraphStyle("heading", parent=_base, fontName="Helvetica-Bold", fontSize=20, leading=24),
    "title": ParagraphStyle("title", parent=_base, fontName="Helvetica-Bold", fontSize=14, leading=18),
    "body": _base,
    "label": ParagraphStyle("label", parent=_base, fontSize=9, textColor=colors.HexColor("#555555")),
    "value": ParagraphStyle("value", parent=_base, fontName="Helvetica-Bold"),
    "small": ParagraphStyle("small", parent=_base, fontSize=8, leading=10),
    "code": ParagraphStyle("code", parent=_base, fontName="Courier-Bold", fontSize=13, leading=16),
}


def verification_url(code: str) -> str:
    return settings.VENTANILLA_PUBLIC_URL + reverse("documents:verify-code", kwargs={"code": code})


def value_text(value) -> str:
    return ", ".join(str(item) for item in value) if isinstance(value, list) else str(value)


def render(document: Document, language: str) -> bytes:
    """The unsigned PDF of `document` in `language`."""
    with translation.override(language):
        return _render(document, language)


def _date(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "j F Y") if moment else ""


def _render(document: Document, language: str) -> bytes:
    layout = LAYOUTS[document.kind]
    institution = document.institution
    institution_name = institution.name_es if language == "es" else institution.name_en
    title = document.title_es if language == "es" else document.title_en
    out = io.BytesIO()
    pdf = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{layout.heading}: {title}",
        author=institution_name,
        subject=document.code,
        creator=settings.VENTANILLA_SITE_NAME,
        lang=language,
    )
    holder = escape(document.holder_name)
    if document.holder_identifier:
        holder += f" ({escape(document.holder_identifier)})"
    rows = [
        [Paragraph(_("Holder"), STYLES["label"]), Paragraph(holder, STYLES["value"])],
        *[
            [
                Paragraph(escape(field[f"label_{language}"]), STYLES["label"]),
                Paragraph(escape(value_text(field["value"])), STYLES["value"]),
            ]
            for field in document.fields
        ],
        [Paragraph(_("Issued"), STYLES["label"]), Paragraph(_date(document.valid_from), STYLES["value"])],
    ]
    if document.expires_at:
        rows.append(
            [
                Paragraph(_("Valid until"), STYLES["label"]),
                Paragraph(_date(document.expires_at), STYLES["value"]),
            ]
        )
    facts = Table(rows, colWidths=[45 * mm, 125 * mm])
    facts.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    url = verification_url(document.code)
    qr = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = qr.getBounds()
    size = 32 * mm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(qr)
    check = Table(
        [
            [
                drawing,
                [
                    Paragraph(_("Verification code"), STYLES["label"]),
                    Paragraph(document.code, STYLES["code"]),
                    Spacer(1, 2 * mm),
                    Paragraph(
                        _("Check this document at %(url)s: scan the code or type it there.")
                        % {"url": escape(url.split("/verificar")[0] + "/verificar/")},
                        STYLES["small"],
                    ),
                ],
            ]
        ],
        colWidths=[36 * mm, 134 * mm],
    )
    check.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("BOX", (0, 0), (-1, -1), 0.5, layout.accent)])
    )
    band = Table(
        [[Paragraph(f'<font color="white">{escape(str(layout.heading))}</font>', STYLES["heading"])]],
        colWidths=[170 * mm],
    )
    band.setStyle(
        TableStyle([("BACKGROUND", (0, 0), (-1, -1), layout.accent), ("LEFTPADDING", (0, 0), (-1, -1), 8)])
    )
    story = [
        Paragraph(escape(settings.VENTANILLA_SITE_NAME), STYLES["site"]),
        Paragraph(escape(institution_name), STYLES["institution"]),
        Spacer(1, 4 * mm),
        band,
        Spacer(1, 5 * mm),
        Paragraph(escape(title), STYLES["title"]),
        Spacer(1, 3 * mm),
        Paragraph(
            escape(str(layout.statement) % {"institution": institution_name, "holder": document.holder_name}),
            STYLES["body"],
        ),
        Spacer(1, 4 * mm),
        facts,
        Spacer(1, 8 * mm),
        check,
        Spacer(1, 5 * mm),
        Paragraph(
            _(
                "Signed electronically by %(institution)s and timestamped by %(site)s. An electronic signature "
                "has the same legal value as a handwritten one (Executive Decree 719 of 2013). Any change to "
                "this file breaks the signature."
            )
            % {"institution": escape(institution_name), "site": escape(settings.VENTANILLA_SITE_NAME)},
            STYLES["small"],
        ),
    ]
    pdf.build(story)
    return out.getvalue()


def outside_event_loop(function, *args, **kwargs):
    """pyHanko's synchronous calls run their own asyncio loop, which fails inside a thread already running one
    (an ASGI server, a test driving a browser): there, the call runs in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(function, *args, **kwargs).result()


def sign(data: bytes, *, certificate: Certificate, reason: str) -> bytes:
    """`data` signed PAdES B-T by `certificate` (an institution's) with the platform's timestamp."""
    return outside_event_loop(_sign, data, certificate=certificate, reason=reason)


def _sign(data: bytes, *, certificate: Certificate, reason: str) -> bytes:
    signer = plugins.current().pdf_signer(
        certificate.key_alias, certificate=keys.asn1(certificate), chain=[keys.asn1(keys.ca())]
    )
    metadata = signers.PdfSignatureMetadata(
        field_name="Firma",
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=settings.VENTANILLA_SITE_NAME,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    signed = signers.PdfSigner(metadata, signer=signer, timestamper=tsa.timestamper()).sign_pdf(writer)
    return signed.getvalue()
