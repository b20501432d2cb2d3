"""The shipped reference data (fixtures/*.csv) and the readers that load it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from roster.errors import InvalidInput
from roster.reference.schemas import SpecialtyRead
from roster.reference.service import (
    SPECIALTY_COLUMNS,
    STATE_RULE_COLUMNS,
    SpecialtyIndex,
    read_specialties,
    read_state_rules,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
NUCC_CODE = re.compile(r"^[0-9A-Z]{9}X$")
STATES = set(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY "
    "NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY".split()
)
TERRITORIES = {"PR", "GU", "VI", "AS", "MP"}


@pytest.fixture(scope="module")
def specialties() -> list[dict[str, object]]:
    return read_specialties(FIXTURES / "specialties.csv")


@pytest.fixture(scope="module")
def state_rules() -> list[dict[str, object]]:
    return read_state_rules(FIXTURES / "state_rules.csv")


@pytest.fixture(scope="module")
def index(specialties: list[dict[str, object]]) -> SpecialtyIndex:
    return SpecialtyIndex([SpecialtyRead(**row) for row in specialties])  # type: ignore[arg-type]


# --- specialties ---------------------------------------------------------------------------------


def test_at_least_30_physician_specialties(specialties: list[dict[str, object]]) -> None:
    assert len([s for s in specialties if s["physician"] is True]) >= 30


def test_slugs_unique_and_snake_case(specialties: list[dict[str, object]]) -> None:
    slugs = [s["slug"] for s in specialties]
    assert len(slugs) == len(set(slugs))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", str(slug)) for slug in slugs)
    assert all(s["name"] for s in specialties)


def test_nucc_codes_unique_and_well_formed(specialties: list[dict[str, object]]) -> None:
    codes = [code for s in specialties for code in s["nucc_codes"]]  # type: ignore[attr-defined]
    assert codes
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)
    bad = [c for c in codes if not NUCC_CODE.match(c)]
    assert not bad
    assert all(s["nucc_codes"] for s in specialties)


def test_physician_specialties_name_their_boards(specialties: list[dict[str, object]]) -> None:
    for s in specialties:
        if s["physician"]:
            assert s["boards"], s["slug"]
            assert all(re.fullmatch(r"[A-Z]{2,16}", b) for b in s["boards"])  # type: ignore[attr-defined]


def test_oncology_hematology_similarity_group(specialties: list[dict[str, object]]) -> None:
    group = {s["slug"]: s["similarity_group"] for s in specialties}
    assert group["medical_oncology"] == group["hematology_oncology"] == group["hematology"]
    assert group["radiation_oncology"] != group["medical_oncology"]
    members = {slug for slug, g in group.items() if g == group["medical_oncology"]}
    assert "radiation_oncology" not in members


def test_clinical_pharmacy_is_not_a_physician_specialty(specialties: list[dict[str, object]]) -> None:
    pharmacy = next(s for s in specialties if s["slug"] == "clinical_pharmacy")
    assert pharmacy["physician"] is False
    physician_groups = {s["similarity_group"] for s in specialties if s["physician"]}
    assert pharmacy["similarity_group"] not in physician_groups


# --- state rules ---------------------------------------------------------------------------------


def test_exactly_56_jurisdictions(state_rules: list[dict[str, object]]) -> None:
    codes = [r["state"] for r in state_rules]
    assert len(codes) == 56
    assert len(set(codes)) == 56
    assert set(codes) == STATES | {"DC"} | TERRITORIES
    assert all(r["name"] for r in state_rules)


def test_kinds(state_rules: list[dict[str, object]]) -> None:
    kind = {r["state"]: r["kind"] for r in state_rules}
    assert {kind[s] for s in STATES} == {"state"}
    assert kind["DC"] == "district"
    assert {kind[t] for t in TERRITORIES} == {"territory"}


@pytest.mark.parametrize("state", ["AZ", "AR"])
def test_az_ar_require_in_state_license_for_initial(state_rules: list[dict[str, object]], state: str) -> None:
    rule = next(r for r in state_rules if r["state"] == state)
    assert rule["requires_in_state_license"] is True
    assert "initial" in rule["review_types"]  # type: ignore[operator]
    assert str(rule["citation"]).strip()


def test_no_other_state_requires_in_state_license(state_rules: list[dict[str, object]]) -> None:
    requiring = {r["state"] for r in state_rules if r["requires_in_state_license"]}
    assert requiring == {"AZ", "AR"}
    initial = {
        r["state"]
        for r in state_rules
        if r["requires_in_state_license"] and "initial" in r["review_types"]  # type: ignore[operator]
    }
    assert initial == {"AZ", "AR"}


def test_state_rule_review_and_license_types_are_known(state_rules: list[dict[str, object]]) -> None:
    for r in state_rules:
        assert set(r["review_types"]) <= {"initial", "appeal", "peer_to_peer"}  # type: ignore[arg-type]
        assert set(r["license_types"]) <= {"MD", "DO"}  # type: ignore[arg-type]


# --- SpecialtyIndex ------------------------------------------------------------------------------


def test_index_resolves_slug_and_nucc_code(index: SpecialtyIndex) -> None:
    assert index.resolve_physician_specialty("medical_oncology", "specialty").slug == "medical_oncology"
    assert index.resolve_physician_specialty("207RX0202X", "specialty").slug == "medical_oncology"
    assert index.resolve_physician_specialty("207rx0202x", "specialty").slug == "medical_oncology"
    assert index.resolve_physician_specialty("2085R0001X", "specialties.0").slug == "radiation_oncology"


def test_index_resolve_unknown_is_none(index: SpecialtyIndex) -> None:
    assert index.resolve("astrology") is None
    assert index.resolve("999999999X") is None


@pytest.mark.parametrize("ref", ["clinical_pharmacy", "183500000X", "1835P0018X"])
def test_index_rejects_non_physician(index: SpecialtyIndex, ref: str) -> None:
    with pytest.raises(InvalidInput) as info:
        index.resolve_physician_specialty(ref, "specialties.2")
    assert [e.field for e in info.value.errors] == ["specialties.2"]
    assert "not a physician specialty" in info.value.errors[0].message


@pytest.mark.parametrize("ref", ["astrology", "999999999X", "", "Medical_Oncology"])
def test_index_rejects_unknown(index: SpecialtyIndex, ref: str) -> None:
    with pytest.raises(InvalidInput) as info:
        index.resolve_physician_specialty(ref, "specialty")
    assert [e.field for e in info.value.errors] == ["specialty"]
    assert "unknown specialty" in info.value.errors[0].message


# --- malformed fixture files ---------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_specialties_wrong_header(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "specialties.csv",
        "slug,name,codes,boards,similarity_group,physician\na,A,207R00000X,ABIM,g,true\n",
    )
    with pytest.raises(ValueError, match=re.escape("specialties.csv: header must be slug,name,nucc_codes")):
        read_specialties(path)


def test_specialties_reordered_header(tmp_path: Path) -> None:
    header = ",".join(reversed(SPECIALTY_COLUMNS))
    path = write(tmp_path, "specialties.csv", f"{header}\ntrue,g,ABIM,207R00000X,A,a\n")
    with pytest.raises(ValueError, match=re.escape("header must be")):
        read_specialties(path)


@pytest.mark.parametrize("value", ["yes", "1", "", "TRUEISH"])
def test_specialties_bad_boolean(tmp_path: Path, value: str) -> None:
    path = write(
        tmp_path,
        "specialties.csv",
        f"{','.join(SPECIALTY_COLUMNS)}\na,A,207R00000X,ABIM,g,true\nb,B,207Q00000X,ABFM,g,{value}\n",
    )
    with pytest.raises(ValueError, match=r"specialties\.csv line 3 physician: expected true or false"):
        read_specialties(path)


def test_specialties_boolean_is_case_insensitive(tmp_path: Path) -> None:
    path = write(tmp_path, "specialties.csv", f"{','.join(SPECIALTY_COLUMNS)}\na,A,207R00000X,abim; AOBIM ,g, TRUE\n")
    (row,) = read_specialties(path)
    assert row["physician"] is True
    assert row["boards"] == ["ABIM", "AOBIM"]


def test_specialties_missing_slug(tmp_path: Path) -> None:
    path = write(tmp_path, "specialties.csv", f"{','.join(SPECIALTY_COLUMNS)}\n,A,207R00000X,ABIM,g,true\n")
    with pytest.raises(ValueError, match=re.escape("line 2: slug and similarity_group are required")):
        read_specialties(path)


def test_state_rules_wrong_header(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "state_rules.csv",
        "state,name,kind,in_state,review_types,license_types,citation\nAZ,Arizona,state,true,initial,MD,x\n",
    )
    with pytest.raises(ValueError, match=re.escape("state_rules.csv: header must be state,name,kind")):
        read_state_rules(path)


@pytest.mark.parametrize("value", ["yes", "", "T"])
def test_state_rules_bad_boolean(tmp_path: Path, value: str) -> None:
    path = write(
        tmp_path,
        "state_rules.csv",
        f"{','.join(STATE_RULE_COLUMNS)}\nAZ,Arizona,state,{value},initial,MD,x\n",
    )
    with pytest.raises(ValueError, match=re.escape("state_rules.csv line 2: expected true or false")):
        read_state_rules(path)


@pytest.mark.parametrize(
    "state",
    [
        "Az",
        "ARZ",
        "A",
        "A1",
        "",
        "az",
        "ÄZ",
    ],
)
def test_state_rules_bad_state_code(tmp_path: Path, state: str) -> None:
    path = write(
        tmp_path,
        "state_rules.csv",
        f"{','.join(STATE_RULE_COLUMNS)}\nAL,Alabama,state,false,,MD;DO,\n{state},X,state,false,,MD,\n",
    )
    with pytest.raises(ValueError, match=re.escape("state_rules.csv line 3: bad state code")):
        read_state_rules(path)
