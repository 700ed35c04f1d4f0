import json

from ventanilla.forms import addresses


def test_all_provinces_and_the_provincial_comarcas():
    names = {place.code: place.name for place in addresses.provinces()}
    assert len(names) == 13
    assert names["8"] == "Panamá" and names["13"] == "Panamá Oeste" and names["10"] == "Guna Yala"
    assert {place.kind for place in addresses.provinces()} == {"province", "comarca"}


def test_chain_of_codes():
    districts = {place.name: place.code for place in addresses.districts("8")}
    assert districts["San Miguelito"] == "8-5"
    corregimientos = {place.name for place in addresses.corregimientos(districts["Panamá"])}
    assert {"Bella Vista", "San Francisco", "Tocumen"} <= corregimientos
    assert addresses.label("8-4-7") == "Bella Vista"
    assert addresses.label("99") == ""
    assert addresses.districts("8-4") == ()
    assert addresses.corregimientos("8") == ()


def test_is_valid_checks_every_link():
    assert addresses.is_valid("8", "8-4", "8-4-7")
    assert not addresses.is_valid("4", "8-4", "8-4-7")  # district of another province
    assert not addresses.is_valid("8", "8-4", "8-5-1")  # corregimiento of another district
    assert not addresses.is_valid("8", "8", "8-4-7")
    assert not addresses.is_valid("", "", "")


def test_every_district_has_corregimientos_and_codes_nest():
    document = json.loads(addresses.DATA_FILE.read_text())
    assert "own words" in document["note"]
    for province in document["provinces"]:
        assert province["districts"]
        for district in province["districts"]:
            assert district["code"].startswith(province["code"] + "-")
            assert district["corregimientos"]
            for corregimiento in district["corregimientos"]:
                assert addresses.is_valid(province["code"], district["code"], corregimiento["code"])
