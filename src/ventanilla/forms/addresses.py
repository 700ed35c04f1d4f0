"""Panama's political-administrative division for address questions: provinces and provincial-level comarcas →
districts → corregimientos, read from data/panama_addresses.json (see its "note" and "codes" keys).

Codes: a province is its number as in the cédula prefix ("8" Panamá, "13" Panamá Oeste); a district is
"<province>-<n>" ("8-4"); a corregimiento "<district>-<n>" ("8-4-9"). Because the codes nest, a chain is
consistent exactly when each code is listed under its parent.
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "panama_addresses.json"


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    parent: str  # "" for a province
    kind: str  # "province" | "comarca" | "district" | "corregimiento"


@dataclass(frozen=True)
class _Division:
    places: dict  # code → Place
    children: dict  # code ("" for the country) → tuple[Place, ...]


@cache
def _division() -> _Division:
    document = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    places, children = {}, {"": []}
    for province in document["provinces"]:
        places[province["code"]] = Place(province["code"], province["name"], "", province["kind"])
        children[""].append(places[province["code"]])
        children[province["code"]] = []
        for district in province["districts"]:
            place = Place(district["code"], district["name"], province["code"], "district")
            places[place.code] = place
            children[province["code"]].append(place)
            children[place.code] = []
            for corregimiento in district["corregimientos"]:
                leaf = Place(corregimiento["code"], corregimiento["name"], district["code"], "corregimiento")
                places[leaf.code] = leaf
                children[place.code].append(leaf)
    return _Division(places, {code: tuple(items) for code, items in children.items()})


def provinces() -> tuple[Place, ...]:
    """Provinces and provincial-level comarcas, by code."""
    return _division().children[""]


def districts(province_code: str) -> tuple[Place, ...]:
    place = _division().places.get(str(province_code))
    return _division().children[place.code] if place and not place.parent else ()


def corregimientos(district_code: str) -> tuple[Place, ...]:
    place = _division().places.get(str(district_code))
    return _division().children[place.code] if place and place.kind == "district" else ()


def place(code: str) -> Place | None:
    return _division().places.get(str(code))


def label(code: str) -> str:
    """The name of a place ("8-4-9" → "Bella Vista"), or "" for an unknown code."""
    found = place(code)
    return found.name if found else ""


def is_valid(province: str, district: str, corregimiento: str) -> bool:
    """Whether the corregimiento lies in the district and the district in the province."""
    places = _division().places
    found_province, found_district, found_corregimiento = (
        places.get(str(province)),
        places.get(str(district)),
        places.get(str(corregimiento)),
    )
    return bool(
        found_province
        and not found_province.parent
        and found_district
        and found_district.kind == "district"
        and found_district.parent == found_province.code
        and found_corregimiento
        and found_corregimiento.kind == "corregimiento"
        and found_corregimiento.parent == found_district.code
    )


def describe(value: dict) -> str:
    """An address answer as one line: "Calle 50, Bella Vista, Panamá, Panamá"."""
    parts = [value.get("line", "")] + [
        label(value.get(part, "")) for part in ("corregimiento", "district", "province")
    ]
    return ", ".join(part for part in parts if part)


@cache
def grouped_districts() -> tuple[tuple[str, tuple[Place, ...]], ...]:
    """Every district grouped under its province's name: the select works without JavaScript."""
    return tuple((province.name, districts(province.code)) for province in provinces())


@cache
def grouped_corregimientos() -> tuple[tuple[str, tuple[Place, ...]], ...]:
    """Every corregimiento grouped under "district (province)"."""
    return tuple(
        (f"{district.name} ({province.name})", corregimientos(district.code))
        for province in provinces()
        for district in districts(province.code)
    )
