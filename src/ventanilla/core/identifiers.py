"""Panamanian identifiers: the cédula, the RUC (business tax id) with its check digits, passport numbers and
ISO 3166-1 alpha-3 country codes. Each parser reads what people actually type and returns one canonical form,
or raises InvalidIdentifier with a message that tells the person what a valid number looks like.

The cédula (Tribunal Electoral) is written PREFIX-TOMO-ASIENTO:

    8-123-456      provincial: province 1–13 (10 Guna Yala, 11 Emberá-Wounaan, 12 Ngäbe-Buglé, 13 Panamá Oeste)
    E-8-123456     foreigner with permanent residence        N-19-1234   naturalised Panamanian
    PE-9-123       Panamanian born abroad                    8AV-123-456 registered before the current law
    8PI-123-456    indigenous population (province first, as with AV)

Canonical form: upper case, parts joined by "-", no leading zeros ("08 0123 00456" → "8-123-456"), letters
glued to the province for AV and PI. Tomo has 1–4 digits, asiento 1–6, neither is zero. The older "SB"
(San Blas) prefix is not accepted: no public description of it was found (San Blas is today province 10).

The RUC (Dirección General de Ingresos) takes three shapes:

    natural person   the cédula itself                               8-123-456, E-8-123456, 8AV-123-456
    legal entity     the Public Registry's three numbers, no zeros   155596713-2-2015 (new), 253-92-57027 (old)
    NT               a number DGI assigns to those without either:   8-NT-1-12345 (province-NT-tomo-asiento)
                     the State, associations, consortia, foreigners without a cédula

Its two check digits (DV) follow DGI's published algorithm ("Algoritmo para el cálculo del dígito verificador
del RUC"): the RUC becomes a string of digits laid out per shape; a DV is 11 minus the remainder of dividing by
11 the sum of those digits weighted 2, 3, 4… from the right (0 when the remainder is 0 or 1); the second DV is
computed over the string followed by the first. Old-style registry numbers (tomo below 50000) first map two
digits through a fixed table, and from the 11th digit from the right their weights run 11, 12… instead of
12, 13…. Leading zeros are dropped before the DV is computed, as in the canonical form. The layouts were checked against the
worked examples in python-stdnum and in the DGI-derived calculators panama-ruc-dv-calculator and
verification-digit-pty (see tests/core/test_identifiers.py). The same written NT number gives different DVs for
a person and for an entity, so an NT's DV is accepted when it fits either.
"""

import re
import unicodedata
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class InvalidIdentifier(ValidationError, ValueError):
    """A number that is not a valid identifier. A Django ValidationError, so forms show the message as is; a
    ValueError, so pydantic schemas (django-ninja) report it as a value error."""

    def __init__(self, message):
        super().__init__(message, code="invalid")

    def __str__(self):
        return str(self.message)


CEDULA_HELP = _(
    "Write the cédula as it appears on the card, for example 8-123-456, E-8-123456 or 8PI-123-456."
)
RUC_HELP = _(
    "Write the RUC as it appears on your RUC certificate, for example 155596713-2-2015 or 8-NT-1-12345; "
    "a person's RUC is their cédula, for example 8-123-456."
)

PROVINCES = range(1, 14)
# Letters that go before the tomo with no province (E, N, PE), and after the province (AV, PI).
LETTERS_WITHOUT_PROVINCE = ("E", "N", "PE")
LETTERS_AFTER_PROVINCE = ("AV", "PI")
CEDULA_KINDS = {
    "provincial": "",
    "foreign_resident": "E",
    "naturalised": "N",
    "born_abroad": "PE",
    "before_validity": "AV",
    "indigenous": "PI",
}
_KIND_OF_LETTERS = {letters: kind for kind, letters in CEDULA_KINDS.items()}

# Hyphens and dashes people type or paste (keyboards, word processors, PDFs), and spaces.
_SEPARATORS = "\\s\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_ALLOWED = re.compile(f"[A-Z0-9{_SEPARATORS}]+")
_TOKEN = re.compile(r"[A-Z]+|[0-9]+")
# A DV pasted after the RUC: "… DV 76", "… D.V. 9", "…:84".
_PASTED_DV = re.compile(r"(.*?)\s*(?:D\.?\s*V\.?|:)\s*([0-9]{1,2})")


def _tokens(text: str) -> list[str]:
    """Runs of letters and of digits, once case, width and separators are set aside; [] for anything else."""
    text = unicodedata.normalize("NFKC", str(text)).strip().upper()
    if not text or len(text) > 40 or not _ALLOWED.fullmatch(text):
        return []
    return _TOKEN.findall(text)


def _number(token: str, max_digits: int) -> int | None:
    """A positive number of at most max_digits significant digits, else None."""
    if not token.isdigit() or len(token.lstrip("0")) > max_digits:
        return None
    return int(token) or None


@dataclass(frozen=True)
class Cedula:
    canonical: str
    kind: str  # a key of CEDULA_KINDS
    province: int | None
    tomo: int
    asiento: int

    @property
    def letters(self) -> str:
        return CEDULA_KINDS[self.kind]

    @property
    def digits(self) -> str:
        """The number's digits alone ("8-123-456" → "8123456"), to spot it inside other text."""
        return re.sub(r"\D", "", self.canonical)

    def __str__(self):
        return self.canonical


def _read_cedula(tokens: list[str]) -> Cedula | None:
    if len(tokens) == 4 and tokens[1] in LETTERS_AFTER_PROVINCE:
        province, letters, tomo, asiento = tokens
    elif len(tokens) == 3 and tokens[0] in LETTERS_WITHOUT_PROVINCE:
        letters, tomo, asiento = tokens
    elif len(tokens) == 3:
        (province, tomo, asiento), letters = tokens, ""
    else:
        return None
    if letters in LETTERS_WITHOUT_PROVINCE:
        province, prefix = None, letters
    else:
        province = _number(province, 2)
        if province not in PROVINCES:
            return None
        prefix = f"{province}{letters}"
    tomo, asiento = _number(tomo, 4), _number(asiento, 6)
    if tomo is None or asiento is None:
        return None
    return Cedula(f"{prefix}-{tomo}-{asiento}", _KIND_OF_LETTERS[letters], province, tomo, asiento)


def parse_cedula(text: str) -> Cedula:
    """The cédula in `text`, in canonical form (see the module's docstring), whatever spacing, case and dashes."""
    cedula = _read_cedula(_tokens(text))
    if cedula is None:
        raise InvalidIdentifier(CEDULA_HELP)
    return cedula


# --- RUC ---------------------------------------------------------------------------------------------------

# DGI's codes for a cédula's letters in the DV layout: (with a tomo of up to 3 digits, with a 4-digit tomo).
_LETTER_CODES = {
    "": ("00", None),
    "E": ("50", "66"),
    "N": ("40", "92"),
    "PE": ("75", "82"),
    "AV": ("15", "9595"),
    "PI": ("79", "9595"),
}
_NT_CODE = "43"
# Old registry numbers: DGI maps the tomo's 5th and 4th digits from the right (10…49) to one digit. Each run
# (first, last, digit for first) counts up by one.
_OLD_TOMO_RUNS = ((10, 18, 1), (19, 22, 1), (23, 25, 7), (26, 33, 2), (34, 42, 1), (43, 49, 1))


@dataclass(frozen=True)
class _Reading:
    """One way to understand a written RUC, with the digit string DGI computes its DV over."""

    canonical: str
    kind: str  # "natural" | "juridica" | "nt"
    natural_person: bool
    layout: str
    old_style: bool = False

    @property
    def dv(self) -> str:
        first = _check_digit(self.layout, self.old_style)
        return first + _check_digit(self.layout + first, self.old_style)


def _check_digit(digits: str, old_style: bool) -> str:
    weights = list(range(2, len(digits) + 2))
    if old_style:  # the weights run 2…11, then 11 again, 12, 13…
        weights = [weight - 1 if weight >= 12 else weight for weight in weights]
    remainder = sum(int(d) * w for d, w in zip(reversed(digits), weights, strict=True)) % 11
    return str(11 - remainder if remainder > 1 else 0)


def _cedula_layout(cedula: Cedula) -> str:
    tomo, asiento, letters = str(cedula.tomo), str(cedula.asiento), cedula.letters
    # DGI keeps a six-digit asiento whole only for E and N; other asientos count with their first five digits.
    six_digit = len(asiento) == 6 and letters in ("E", "N")
    asiento = asiento if six_digit else asiento[:5].zfill(5)
    short_code, long_code = _LETTER_CODES[letters]
    if letters in LETTERS_WITHOUT_PROVINCE:
        if len(tomo) < 4:
            return "5" + "00" + short_code + tomo.zfill(3) + asiento
        return "5" + long_code + (short_code if six_digit else short_code.rstrip("0")) + tomo + asiento
    if long_code and len(tomo) == 4:  # AV and PI with a 4-digit tomo leave the province out
        return "5" + long_code + tomo + asiento
    return "5" + f"{cedula.province:02d}" + short_code + tomo.zfill(3) + asiento


def _old_style_layout(digits: str) -> str:
    pair = int(digits[5:7])
    for first, last, digit in _OLD_TOMO_RUNS:
        if first <= pair <= last:
            return digits[:5] + f"0{digit + pair - first}" + digits[7:]
    return digits


def _readings(tokens: list[str]) -> list[_Reading]:
    """Every reading of a written RUC, the usual one first."""
    if len(tokens) == 4 and tokens[1] == "NT":
        province, tomo, asiento = _number(tokens[0], 2), _number(tokens[2], 3), _number(tokens[3], 7)
        if province not in PROVINCES or tomo is None or asiento is None:
            return []
        canonical = f"{province}-NT-{tomo}-{asiento}"
        head, asiento = f"{province:02d}{_NT_CODE}{tomo:03d}", str(asiento)
        entity = _Reading(
            canonical, "nt", False, head + (asiento if len(asiento) == 6 else asiento[:5].zfill(5))
        )
        if len(asiento) == 7:
            return [entity]
        return [entity, _Reading(canonical, "nt", True, "5" + head + asiento.zfill(5))]
    readings = []
    if cedula := _read_cedula(tokens):
        readings.append(_Reading(cedula.canonical, "natural", True, _cedula_layout(cedula)))
    if len(tokens) == 3:
        tomo, folio, asiento = _number(tokens[0], 10), _number(tokens[1], 4), _number(tokens[2], 6)
        if tomo and folio and asiento:
            digits = f"{tomo:010d}{folio:04d}{asiento:06d}"
            old_style = digits[3:6] < "005"
            layout = _old_style_layout(digits) if old_style else digits
            readings.append(_Reading(f"{tomo}-{folio}-{asiento}", "juridica", False, layout, old_style))
    return readings


@dataclass(frozen=True)
class Ruc:
    canonical: str  # without the DV
    dv: str  # two digits
    kind: str  # "natural" (a cédula), "juridica" (Public Registry numbers) or "nt"
    natural_person: bool

    def __str__(self):
        return f"{self.canonical} DV {self.dv}"


def _normalise_dv(dv: str) -> str:
    dv = re.sub(r"\s", "", str(dv))
    if not re.fullmatch(r"[0-9]{1,2}", dv):
        raise InvalidIdentifier(_("The check digits (DV) are one or two digits, for example 27."))
    return dv.zfill(2)


def parse_ruc(text: str, dv: str | None = None) -> Ruc:
    """The RUC in `text` (a DV pasted after it, "… DV 76", is read too). With a DV, the DV must match: it also
    settles what an ambiguous number is (an NT of a person or of an entity; a cédula or an old registry number).
    Without one, the usual reading is taken (cédula, NT of an entity) and its DV computed."""
    text = unicodedata.normalize("NFKC", str(text)).strip().upper()
    if pasted := _PASTED_DV.fullmatch(text):
        text, dv = pasted.group(1), dv or pasted.group(2)
    readings = _readings(_tokens(text))
    if not readings:
        raise InvalidIdentifier(RUC_HELP)
    if dv is None or not str(dv).strip():
        reading = readings[0]
        return Ruc(reading.canonical, reading.dv, reading.kind, reading.natural_person)
    dv = _normalise_dv(dv)
    for reading in readings:
        if reading.dv == dv:
            return Ruc(reading.canonical, dv, reading.kind, reading.natural_person)
    raise InvalidIdentifier(
        _("The check digits (DV) do not match this RUC. Check both on your RUC certificate.")
    )


def ruc_check_digits(ruc: str, *, natural_person: bool | None = None) -> str:
    """The two DGI check digits of a RUC written without them. natural_person chooses between readings of the
    same written number (an NT; a cédula-shaped old registry number); by default the usual one is taken."""
    readings = [
        reading
        for reading in _readings(_tokens(ruc))
        if natural_person is None or reading.natural_person == natural_person
    ]
    if not readings:
        raise InvalidIdentifier(RUC_HELP)
    return readings[0].dv


# --- Passports and countries ---------------------------------------------------------------------------------


def normalize_passport(number: str) -> str:
    """A passport number as stored: upper case, without spaces or dashes, 5 to 20 letters and digits."""
    compact = re.sub(f"[{_SEPARATORS}]", "", unicodedata.normalize("NFKC", str(number)).upper())
    if not re.fullmatch(r"[A-Z0-9]{5,20}", compact):
        raise InvalidIdentifier(
            _("Write the passport number as it appears on the passport: 5 to 20 letters and digits.")
        )
    return compact


# ISO 3166-1 alpha-3, all 249 officially assigned codes.
# fmt: off
COUNTRIES = frozenset([
    "ABW", "AFG", "AGO", "AIA", "ALA", "ALB", "AND", "ARE", "ARG", "ARM", "ASM", "ATA", "ATF", "ATG", "AUS",
    "AUT", "AZE", "BDI", "BEL", "BEN", "BES", "BFA", "BGD", "BGR", "BHR", "BHS", "BIH", "BLM", "BLR", "BLZ",
    "BMU", "BOL", "BRA", "BRB", "BRN", "BTN", "BVT", "BWA", "CAF", "CAN", "CCK", "CHE", "CHL", "CHN", "CIV",
    "CMR", "COD", "COG", "COK", "COL", "COM", "CPV", "CRI", "CUB", "CUW", "CXR", "CYM", "CYP", "CZE", "DEU",
    "DJI", "DMA", "DNK", "DOM", "DZA", "ECU", "EGY", "ERI", "ESH", "ESP", "EST", "ETH", "FIN", "FJI", "FLK",
    "FRA", "FRO", "FSM", "GAB", "GBR", "GEO", "GGY", "GHA", "GIB", "GIN", "GLP", "GMB", "GNB", "GNQ", "GRC",
    "GRD", "GRL", "GTM", "GUF", "GUM", "GUY", "HKG", "HMD", "HND", "HRV", "HTI", "HUN", "IDN", "IMN", "IND",
    "IOT", "IRL", "IRN", "IRQ", "ISL", "ISR", "ITA", "JAM", "JEY", "JOR", "JPN", "KAZ", "KEN", "KGZ", "KHM",
    "KIR", "KNA", "KOR", "KWT", "LAO", "LBN", "LBR", "LBY", "LCA", "LIE", "LKA", "LSO", "LTU", "LUX", "LVA",
    "MAC", "MAF", "MAR", "MCO", "MDA", "MDG", "MDV", "MEX", "MHL", "MKD", "MLI", "MLT", "MMR", "MNE", "MNG",
    "MNP", "MOZ", "MRT", "MSR", "MTQ", "MUS", "MWI", "MYS", "MYT", "NAM", "NCL", "NER", "NFK", "NGA", "NIC",
    "NIU", "NLD", "NOR", "NPL", "NRU", "NZL", "OMN", "PAK", "PAN", "PCN", "PER", "PHL", "PLW", "PNG", "POL",
    "PRI", "PRK", "PRT", "PRY", "PSE", "PYF", "QAT", "REU", "ROU", "RUS", "RWA", "SAU", "SDN", "SEN", "SGP",
    "SGS", "SHN", "SJM", "SLB", "SLE", "SLV", "SMR", "SOM", "SPM", "SRB", "SSD", "STP", "SUR", "SVK", "SVN",
    "SWE", "SWZ", "SXM", "SYC", "SYR", "TCA", "TCD", "TGO", "THA", "TJK", "TKL", "TKM", "TLS", "TON", "TTO",
    "TUN", "TUR", "TUV", "TWN", "TZA", "UGA", "UKR", "UMI", "URY", "USA", "UZB", "VAT", "VCT", "VEN", "VGB",
    "VIR", "VNM", "VUT", "WLF", "WSM", "YEM", "ZAF", "ZMB", "ZWE",
])
# fmt: on


def validate_country(code: str) -> str:
    """An ISO 3166-1 alpha-3 country code, upper-cased ("pan" → "PAN")."""
    code = str(code).strip().upper()
    if code not in COUNTRIES:
        raise InvalidIdentifier(_("Choose a country by its three-letter code, for example PAN or USA."))
    return code


def as_uuid(value) -> uuid.UUID | None:
    """An id from an address, a form or a message, or None when it is not a UUID."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
