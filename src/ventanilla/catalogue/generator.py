"""Synthetic procedures that top the catalogue up to a realistic size (the seed's 4,163, or more for scale tests).

Titles are built from real kinds of Panamanian procedure: a base procedure (permiso, licencia, certificado, paz y
salvo, …) appropriate to the institution, sometimes with an action (renovación, duplicado, …), a qualifier (para
persona jurídica, …) and, for central institutions, a regional office. Municipal procedures are the typical ones
every municipality has, replicated per municipality. Everything is deterministic for a seed.
"""

import random
import uuid
import zlib
from dataclasses import dataclass
from decimal import Decimal
from itertools import product

from django.db import connection, transaction
from django.db.models import Count

from . import search
from .models import Fee, Institution, LegalBasis, Procedure, Requirement, Step, Topic

# The seed (OECD review of Panama, 2019): 4,163 procedures, 2,700 central and 1,463 municipal.
SEED_TOTAL, SEED_MUNICIPAL = 4163, 1463
BATCH = 2000
# Digitalisation levels: most procedures are information only (1) or a downloadable form (2).
LEVELS, LEVEL_CUM_WEIGHTS = [1, 2, 3, 4, 5], [45, 75, 88, 96, 100]


class GenerationError(Exception):
    pass


@dataclass(frozen=True)
class Base:
    es: str
    en: str
    topics: tuple[str, ...]
    audience: str = "citizen"


def _bases(audience: str, topics: tuple[str, ...], *pairs: tuple[str, str]) -> list[Base]:
    return [Base(es, en, topics, audience) for es, en in pairs]


# Base procedures by theme. Topic codes that do not exist in the database are ignored.
THEMES: dict[str, list[Base]] = {
    "civil-registry": [
        *_bases(
            "citizen",
            ("identity", "having-a-baby"),
            ("Certificado de nacimiento", "Birth certificate"),
            ("Inscripción de nacimiento", "Birth registration"),
        ),
        *_bases(
            "citizen",
            ("identity", "getting-married"),
            ("Certificado de matrimonio", "Marriage certificate"),
            ("Inscripción de matrimonio", "Marriage registration"),
        ),
        *_bases(
            "citizen",
            ("identity", "death-of-a-relative"),
            ("Certificado de defunción", "Death certificate"),
            ("Inscripción de defunción", "Death registration"),
        ),
        *_bases(
            "citizen",
            ("identity", "turning-18"),
            ("Cédula de identidad personal", "Personal identity card"),
            ("Carné de menor de edad", "Identity card for minors"),
        ),
        *_bases(
            "citizen",
            ("identity",),
            ("Rectificación de datos del Registro Civil", "Correction of Civil Registry records"),
        ),
    ],
    "migration": [
        *_bases(
            "citizen",
            ("travel-migration", "travelling-abroad"),
            ("Pasaporte ordinario", "Ordinary passport"),
            ("Permiso de salida de menores", "Exit permit for minors"),
            ("Visa de turista", "Tourist visa"),
        ),
        *_bases(
            "citizen",
            ("travel-migration", "coming-to-live-in-panama"),
            ("Permiso de residencia permanente", "Permanent residence permit"),
            ("Permiso de residencia temporal", "Temporary residence permit"),
            ("Prórroga de estadía", "Extension of stay"),
            ("Carné de residente", "Residence card"),
            ("Carta de naturalización", "Naturalisation letter"),
        ),
    ],
    "consular": _bases(
        "both",
        ("travel-migration", "travelling-abroad"),
        ("Apostilla de documentos", "Apostille of documents"),
        ("Autenticación de documentos", "Authentication of documents"),
        ("Visa consular", "Consular visa"),
        ("Certificado consular", "Consular certificate"),
    ),
    "transport": [
        *_bases(
            "citizen",
            ("transport", "driving"),
            ("Licencia de conducir", "Driving licence"),
            ("Revisado vehicular", "Vehicle inspection"),
            ("Traspaso de vehículo", "Vehicle transfer"),
            ("Paz y salvo de infracciones de tránsito", "Traffic fines clearance certificate"),
        ),
        *_bases(
            "business",
            ("transport",),
            ("Certificado de operación de transporte público", "Public transport operating certificate"),
            ("Registro de escuela de manejo", "Driving school registration"),
        ),
    ],
    "health": [
        *_bases(
            "business",
            ("health", "business"),
            ("Permiso sanitario de operación", "Sanitary operating permit"),
            ("Registro sanitario de producto", "Sanitary product registration"),
            ("Licencia de operación de farmacia", "Pharmacy operating licence"),
            ("Certificado de fumigación", "Fumigation certificate"),
        ),
        *_bases(
            "citizen",
            ("health",),
            ("Certificado de salud", "Health certificate"),
            ("Certificado de vacunación", "Vaccination certificate"),
            ("Idoneidad para ejercer una profesión de la salud", "Licence to practise a health profession"),
        ),
    ],
    "social-security": [
        *_bases(
            "citizen",
            ("social-protection", "retiring"),
            ("Pensión de vejez", "Old-age pension"),
            ("Pensión de invalidez", "Disability pension"),
            ("Carné de jubilado", "Pensioner's card"),
        ),
        *_bases(
            "citizen",
            ("social-protection", "health"),
            ("Inscripción de asegurado", "Enrolment as insured person"),
            ("Subsidio por incapacidad", "Sickness benefit"),
        ),
        *_bases(
            "business",
            ("social-protection", "work"),
            ("Paz y salvo de cuotas obrero-patronales", "Employer contributions clearance certificate"),
            ("Certificado de cuotas pagadas", "Certificate of contributions paid"),
        ),
    ],
    "education": [
        *_bases(
            "citizen",
            ("education", "studying"),
            ("Certificado de estudios", "Certificate of studies"),
            ("Convalidación de títulos extranjeros", "Recognition of foreign qualifications"),
            ("Autenticación de diploma", "Diploma authentication"),
            ("Beca de estudios", "Study scholarship"),
            ("Inscripción en curso de formación", "Enrolment in a training course"),
        ),
        *_bases(
            "business",
            ("education",),
            ("Permiso de operación de centro educativo particular", "Private school operating permit"),
        ),
    ],
    "work": [
        *_bases(
            "both",
            ("work", "getting-a-job"),
            ("Permiso de trabajo para extranjeros", "Work permit for foreign nationals"),
            ("Inscripción en la bolsa de empleo", "Registration with the job bank"),
            ("Certificado de trabajo", "Employment certificate"),
        ),
        *_bases(
            "business",
            ("work", "business"),
            ("Registro de contrato de trabajo", "Registration of an employment contract"),
            ("Registro de reglamento interno de trabajo", "Registration of workplace rules"),
        ),
    ],
    "business": _bases(
        "business",
        ("business", "starting-a-business"),
        ("Aviso de operación", "Notice of operation"),
        ("Registro de marca", "Trademark registration"),
        ("Certificado de origen", "Certificate of origin"),
        ("Licencia comercial", "Business licence"),
        ("Registro empresarial", "Business registration"),
        ("Certificado de libre venta", "Free sale certificate"),
    ),
    "tax": [
        *_bases(
            "both",
            ("tax",),
            ("Paz y salvo tributario", "Tax clearance certificate"),
            ("Declaración jurada de rentas", "Income tax return"),
            ("Certificado de residencia fiscal", "Tax residence certificate"),
            ("Devolución de impuestos", "Tax refund"),
        ),
        *_bases(
            "business",
            ("tax", "starting-a-business"),
            ("Registro Único de Contribuyente", "Single taxpayer registration"),
        ),
    ],
    "property": [
        *_bases(
            "both",
            ("property-housing", "buying-a-home"),
            ("Certificado de propiedad", "Property certificate"),
            ("Inscripción de compraventa de inmueble", "Registration of a property sale"),
            ("Título de propiedad", "Land title"),
            ("Plano catastral", "Cadastral plan"),
        ),
        *_bases(
            "business",
            ("business", "starting-a-business"),
            ("Inscripción de sociedad anónima", "Registration of a public limited company"),
            ("Certificado de persona jurídica", "Certificate of legal entity"),
        ),
    ],
    "construction": _bases(
        "both",
        ("construction", "property-housing"),
        ("Aprobación de planos", "Approval of plans"),
        ("Permiso de construcción", "Building permit"),
        ("Certificado de uso de suelo", "Land use certificate"),
        ("Inspección de seguridad contra incendios", "Fire safety inspection"),
        ("Permiso de ocupación", "Occupancy permit"),
    ),
    "environment": _bases(
        "both",
        ("environment",),
        ("Estudio de impacto ambiental", "Environmental impact assessment"),
        ("Permiso de tala de árboles", "Tree felling permit"),
        ("Concesión de uso de agua", "Water use concession"),
        ("Permiso de caza deportiva", "Sport hunting permit"),
    ),
    "agriculture": _bases(
        "business",
        ("agriculture",),
        ("Registro de productor agropecuario", "Farmer registration"),
        ("Certificado fitosanitario", "Phytosanitary certificate"),
        ("Permiso de importación de animales", "Animal import permit"),
        ("Licencia de pesca", "Fishing licence"),
        ("Registro de embarcación", "Vessel registration"),
    ),
    "justice": _bases(
        "citizen",
        ("justice-security",),
        ("Certificado de antecedentes penales", "Criminal record certificate"),
        ("Permiso de portación de arma", "Firearm carry permit"),
        ("Denuncia ciudadana", "Citizen complaint"),
        ("Queja por violación de derechos", "Complaint about a rights violation"),
    ),
    "social": _bases(
        "citizen",
        ("social-protection",),
        ("Inscripción en programa de transferencias", "Enrolment in a cash transfer programme"),
        ("Certificado de discapacidad", "Disability certificate"),
        ("Subsidio para adultos mayores", "Allowance for older people"),
        ("Constancia de apoyo social", "Proof of social support"),
    ),
    "culture-tourism": _bases(
        "both",
        ("culture-tourism",),
        ("Registro de derecho de autor", "Copyright registration"),
        ("Permiso de filmación", "Filming permit"),
        ("Registro de artesano", "Craftsperson registration"),
        ("Licencia de agencia de viajes", "Travel agency licence"),
    ),
    "utilities": _bases(
        "both",
        (),
        ("Conexión de agua potable", "Drinking water connection"),
        ("Queja por servicio público", "Public utility complaint"),
        ("Solicitud de acceso a la información", "Access to information request"),
        ("Firma electrónica calificada", "Qualified electronic signature"),
    ),
    "aviation-maritime": _bases(
        "business",
        ("transport",),
        ("Licencia de piloto", "Pilot licence"),
        ("Registro de aeronave", "Aircraft registration"),
        ("Licencia de gente de mar", "Seafarer's licence"),
        ("Patente de navegación", "Navigation licence"),
    ),
    "municipal": [
        *_bases(
            "both",
            ("construction", "property-housing"),
            ("Permiso de construcción", "Building permit"),
            ("Permiso de ocupación", "Occupancy permit"),
            ("Permiso de demolición", "Demolition permit"),
            ("Permiso de movimiento de tierra", "Earthworks permit"),
            ("Certificado de uso de suelo", "Land use certificate"),
        ),
        *_bases(
            "business",
            ("business", "tax", "starting-a-business"),
            ("Registro de contribuyente municipal", "Municipal taxpayer registration"),
            ("Licencia comercial municipal", "Municipal business licence"),
            ("Permiso para la venta de bebidas alcohólicas", "Alcohol sales permit"),
            ("Permiso de rótulos y anuncios", "Signs and advertising permit"),
        ),
        *_bases("both", ("tax",), ("Paz y salvo municipal", "Municipal clearance certificate")),
        *_bases("citizen", ("transport", "driving"), ("Placa vehicular", "Vehicle number plate")),
        *_bases("citizen", ("moving-house",), ("Certificado de residencia", "Certificate of residence")),
        *_bases("citizen", ("culture-tourism",), ("Permiso para eventos públicos", "Public events permit")),
        *_bases("citizen", ("death-of-a-relative",), ("Permiso de inhumación", "Burial permit")),
        *_bases(
            "citizen",
            ("getting-married",),
            ("Matrimonio civil ante el alcalde", "Civil marriage before the mayor"),
        ),
        *_bases(
            "both",
            (),
            ("Permiso de uso de acera", "Pavement use permit"),
            ("Contrato de recolección de basura", "Waste collection contract"),
            ("Permiso de venta ambulante", "Street vending permit"),
        ),
    ],
}

# Themes of the reference institutions; any other institution gets one chosen from its code.
INSTITUTION_THEMES: dict[str, tuple[str, ...]] = {
    "TE": ("civil-registry",),
    "SNM": ("migration",),
    "APAP": ("migration",),
    "MIRE": ("consular",),
    "ATTT": ("transport",),
    "MINSA": ("health",),
    "APA": ("health", "agriculture"),
    "CSS": ("social-security",),
    "MEDUCA": ("education",),
    "IFARHU": ("education",),
    "INADEH": ("education",),
    "SENACYT": ("education",),
    "MITRADEL": ("work",),
    "MICI": ("business",),
    "AMPYME": ("business",),
    "ACODECO": ("business",),
    "MEF": ("tax",),
    "DGI": ("tax",),
    "ANA": ("tax", "business"),
    "RP": ("property",),
    "ANATI": ("property",),
    "MIVIOT": ("construction", "property"),
    "MOP": ("construction",),
    "BOMBEROS": ("construction",),
    "SINAPROC": ("construction",),
    "MIAMBIENTE": ("environment",),
    "MIDA": ("agriculture",),
    "AMP": ("aviation-maritime",),
    "AAC": ("aviation-maritime",),
    "ACP": ("aviation-maritime",),
    "MINSEG": ("justice",),
    "MINGOB": ("justice",),
    "MINISTERIO-PUBLICO": ("justice",),
    "ORGANO-JUDICIAL": ("justice",),
    "DEFENSORIA": ("justice",),
    "MIDES": ("social",),
    "SENADIS": ("social",),
    "SENNIAF": ("social",),
    "MINMUJER": ("social",),
    "MICULTURA": ("culture-tourism",),
    "ATP": ("culture-tourism",),
    "ASEP": ("utilities",),
    "IDAAN": ("utilities",),
    "AIG": ("utilities",),
    "ANTAI": ("utilities",),
    "CONTRALORIA": ("tax",),
}

# (es, en): an action on the base procedure, a qualifier after it, a regional office of a central institution.
ACTIONS = [
    ("", ""),
    ("Renovación de", "Renewal of"),
    ("Duplicado de", "Duplicate of"),
    ("Modificación de", "Amendment of"),
    ("Cancelación de", "Cancellation of"),
]
QUALIFIERS = [
    ("", ""),
    ("para persona natural", "for individuals"),
    ("para persona jurídica", "for companies"),
    ("para extranjeros", "for foreign nationals"),
    ("para menores de edad", "for minors"),
    ("para adultos mayores", "for older people"),
    ("con trámite expedito", "fast-track"),
    ("por primera vez", "first application"),
]
REGIONS = [
    "",
    "Bocas del Toro",
    "Coclé",
    "Colón",
    "Chiriquí",
    "Darién",
    "Herrera",
    "Los Santos",
    "Panamá Oeste",
    "Veraguas",
]

# Requirements asked for by most procedures; businesses and municipalities add their own.
REQUIREMENTS = [
    ("Copia de la cédula de identidad personal", "Copy of the personal identity card"),
    ("Formulario de solicitud completo y firmado", "Completed and signed application form"),
    ("Comprobante de pago de la tasa", "Proof of payment of the fee"),
    ("Dos fotografías tamaño carné", "Two ID-size photographs"),
    ("Poder notariado si actúa un apoderado", "Notarised power of attorney if a representative applies"),
    ("Declaración jurada del solicitante", "Sworn statement by the applicant"),
    (
        "Recibo reciente de agua o luz como prueba de domicilio",
        "Recent water or electricity bill as proof of address",
    ),
]
BUSINESS_REQUIREMENTS = [
    ("Certificado del Registro Público de la sociedad", "Public Registry certificate of the company"),
    ("Aviso de operación", "Notice of operation"),
    ("Paz y salvo de la Dirección General de Ingresos", "Tax clearance certificate from the DGI"),
]
MUNICIPAL_REQUIREMENTS = [("Paz y salvo municipal vigente", "Valid municipal clearance certificate")]
FEE_AMOUNTS = [
    Decimal(a) for a in ("2.00", "5.00", "10.00", "15.00", "25.00", "50.00", "75.00", "100.00", "250.00")
]
FEE_CONDITIONS = [
    ("Por solicitud", "Per application"),
    ("Por año", "Per year"),
    ("Por copia", "Per copy"),
    ("Tasa de inspección", "Inspection fee"),
]
STEPS = [
    ("Reúna los requisitos indicados.", "Gather the listed requirements."),
    (
        "Presente la solicitud en la ventanilla o en línea.",
        "Submit the application at the counter or online.",
    ),
    ("Pague la tasa correspondiente.", "Pay the fee."),
    (
        "Espere la revisión de la institución; le avisarán si falta algo.",
        "Wait while the institution reviews it; you will be told if anything is missing.",
    ),
    (
        "Retire el documento en la oficina o descárguelo.",
        "Collect the document at the office or download it.",
    ),
]
AUDIENCE_TEXT = {
    "citizen": ("Lo pueden pedir las personas que lo necesiten.", "People who need it can apply."),
    "business": ("Lo solicitan empresas y comerciantes.", "Businesses and traders apply for it."),
    "both": ("Lo pueden pedir personas y empresas.", "Both people and businesses can apply."),
}


@dataclass(frozen=True)
class Title:
    es: str
    en: str
    base: Base
    complexity: int  # how many parts were added to the base: the plain, most typical procedures come first


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _titles(bases: list[Base], regions: list[str], rng: random.Random) -> list[Title]:
    """Every title an institution can have, plain ones first, the rest in a seeded order."""
    titles = []
    lowered = {base: (_lower_first(base.es), _lower_first(base.en)) for base in bases}
    for base, (act_es, act_en), (qual_es, qual_en), region in product(bases, ACTIONS, QUALIFIERS, regions):
        es = f"{act_es} {lowered[base][0]}" if act_es else base.es
        en = f"{act_en} {lowered[base][1]}" if act_en else base.en
        if qual_es:
            es, en = f"{es} {qual_es}", f"{en} ({qual_en})"
        if region:
            es, en = f"{es} — Regional de {region}", f"{en} — {region} regional office"
        titles.append(Title(es, en, base, bool(act_es) + bool(qual_es) + bool(region)))
    rng.shuffle(titles)
    return sorted(titles, key=lambda t: t.complexity)


def _themes_of(institution: Institution) -> tuple[str, ...]:
    if institution.kind == Institution.Kind.MUNICIPALITY:
        return ("municipal",)
    if themes := INSTITUTION_THEMES.get(institution.code):
        return themes
    central = sorted(set(THEMES) - {"municipal"})
    return (central[zlib.crc32(institution.code.encode()) % len(central)],)


class _Plan:
    """The titles of each institution, handed out in order: the plain, most typical procedures first."""

    def __init__(self, existing: dict, seed: int):
        self.seed = seed
        self.used = dict(existing)  # institution id -> generated procedures it already has
        self.titles: dict = {}

    def title_for(self, institution: Institution) -> Title:
        if institution.id not in self.titles:
            rng = random.Random(f"{self.seed}:{institution.code}")
            bases = [b for theme in _themes_of(institution) for b in THEMES[theme]]
            regions = [""] if institution.kind == Institution.Kind.MUNICIPALITY else REGIONS
            self.titles[institution.id] = _titles(bases, regions, rng)
        titles = self.titles[institution.id]
        n = self.used.get(institution.id, 0)
        self.used[institution.id] = n + 1
        return titles[n % len(titles)]


def _split(total: int, need: int, municipal_now: int, has_central: bool, has_municipal: bool) -> int:
    """How many of the new procedures are municipal, keeping the seed's proportion for the whole catalogue."""
    if not has_municipal:
        return 0
    if not has_central:
        return need
    target = round(total * SEED_MUNICIPAL / SEED_TOTAL)
    return min(need, max(0, target - municipal_now))


def _next_number() -> int:
    codes = Procedure.objects.filter(generated=True, code__startswith="GEN-").values_list("code", flat=True)
    return max((int(c.rsplit("-", 1)[1]) for c in codes if c.rsplit("-", 1)[1].isdigit()), default=0) + 1


@dataclass
class _Generated:
    procedure: Procedure
    children: list  # requirements, fees, legal bases and steps, unsaved
    topic_ids: list[int]


def _make(
    rng: random.Random, number: int, institution: Institution, title: Title, topics: dict
) -> _Generated:
    municipal = institution.kind == Institution.Kind.MUNICIPALITY
    level = rng.choices(LEVELS, cum_weights=LEVEL_CUM_WEIGHTS)[0]
    online, audience = level >= 3, title.base.audience
    title_es, title_en = title.es, title.en
    if municipal:
        title_es, title_en = f"{title_es} — {institution.name_es}", f"{title_en} — {institution.name_en}"
    aud_es, aud_en = AUDIENCE_TEXT[audience]
    typical = rng.choice([1, 2, 3, 5, 8, 10, 15, 20, 30])
    procedure = Procedure(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        code=f"GEN-{institution.code}-{number:06d}",
        institution_id=institution.id,  # ids, not instances: much cheaper for a model to take
        title_es=title_es,
        title_en=title_en,
        description_es=f"Trámite de {_lower_first(title.es)} ante {institution.name_es}. {aud_es} "
        + ("Se puede iniciar en línea." if online else "Se presenta en las oficinas de la institución."),
        description_en=f"{title.en} from {institution.name_en}. {aud_en} "
        + ("It can be started online." if online else "It is done at the institution's offices."),
        audience=audience,
        channels=["online", "office"] if online else ["office"],
        sign_in_level=rng.choice(["low", "substantial"]) if online else "none",
        typical_days=typical,
        max_days=typical * rng.choice([1, 2, 3]),
        silence_rule=rng.choice(["negative", "negative", "negative", "positive", "none"]),
        output_es=title.base.es,
        output_en=title.base.en,
        level=level,
        reengineering_planned=level <= 2 and rng.random() < 0.2,
        languages=["es"],
        status=Procedure.Status.PUBLISHED,
        illustrative=True,
        generated=True,
    )
    pid = procedure.id
    pool = REQUIREMENTS + (BUSINESS_REQUIREMENTS if audience != "citizen" else [])
    pool += MUNICIPAL_REQUIREMENTS if municipal else []
    children = [
        Requirement(procedure_id=pid, position=n, name_es=es, name_en=en)
        for n, (es, en) in enumerate(rng.sample(pool, rng.randint(1, 4)))
    ]
    children += [
        Fee(
            procedure_id=pid,
            position=n,
            amount=rng.choice(FEE_AMOUNTS),
            conditions_es=es,
            conditions_en=en,
        )
        for n, (es, en) in enumerate(rng.sample(FEE_CONDITIONS, rng.choice([0, 0, 1, 1, 1, 2])))
    ]
    instrument = "Acuerdo Municipal" if municipal else rng.choice(["Ley", "Decreto Ejecutivo"])
    children += [
        LegalBasis(
            procedure_id=pid,
            position=n,
            article=f"Artículo {rng.randint(1, 80)}",
            instrument=f"{instrument} {rng.randint(1, 120)} de {rng.randint(1990, 2019)}",
        )
        for n in range(rng.randint(1, 2))
    ]
    # The first step, then one to three of the others, in order.
    picked = [0, *sorted(rng.sample(range(1, len(STEPS)), rng.randint(1, 3)))]
    children += [
        Step(procedure_id=pid, position=n, text_es=STEPS[i][0], text_en=STEPS[i][1])
        for n, i in enumerate(picked)
    ]
    topic_ids = [topics[code].id for code in title.base.topics if code in topics]
    if not topic_ids and topics:
        topic_ids = [rng.choice(list(topics.values())).id]
    return _Generated(procedure, children, topic_ids)


def generate(*, total: int, seed: int = 2016) -> int:
    """Add synthetic published procedures until the catalogue has at least `total`. Returns how many were made."""
    need = total - Procedure.objects.count()
    if need <= 0:
        return 0
    institutions = list(Institution.objects.order_by("code"))
    if not institutions:
        raise GenerationError(
            "There are no institutions to generate procedures for: load the reference data first "
            "(ventanilla catalogue load-reference)."
        )
    municipal = [i for i in institutions if i.kind == Institution.Kind.MUNICIPALITY]
    central = [i for i in institutions if i.kind != Institution.Kind.MUNICIPALITY]
    municipal_now = Procedure.objects.filter(institution__kind=Institution.Kind.MUNICIPALITY).count()
    need_municipal = _split(total, need, municipal_now, bool(central), bool(municipal))
    existing = Procedure.objects.filter(generated=True).values_list("institution").annotate(n=Count("id"))
    plan = _Plan(dict(existing), seed)
    topics = {t.code: t for t in Topic.objects.all()}
    first = _next_number()
    rng = random.Random(f"{seed}:{first}")
    # Some central institutions carry far more procedures than others; the weight follows the code, not the run.
    weights = [1 + zlib.crc32(i.code.encode()) % 6 for i in central]

    def institution_for(n: int) -> Institution:
        if n < need_municipal:  # round-robin, so every municipality gets the same typical procedures
            return min(municipal, key=lambda m: (plan.used.get(m.id, 0), m.code))
        return rng.choices(central, weights=weights)[0]

    through = Procedure.topics.through
    new_ids = []
    with transaction.atomic():
        for start in range(0, need, BATCH):
            made = []
            for n in range(start, min(need, start + BATCH)):
                institution = institution_for(n)
                made.append(_make(rng, first + n, institution, plan.title_for(institution), topics))
            Procedure.objects.bulk_create([m.procedure for m in made])
            for model in (Requirement, Fee, LegalBasis, Step):
                model.objects.bulk_create([c for m in made for c in m.children if type(c) is model])
            through.objects.bulk_create(
                [through(procedure_id=m.procedure.id, topic_id=t) for m in made for t in m.topic_ids]
            )
            new_ids += [m.procedure.id for m in made]
        search.reindex(new_ids)
    with connection.cursor() as cursor:  # fresh planner statistics after a bulk load, or plans go astray
        for model in (Procedure, Requirement, Fee, LegalBasis, Step, through):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return len(new_ids)
