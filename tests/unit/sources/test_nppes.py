"""NPPES dissemination-file reader: the header, the sample file, and every way a file can be broken.

Expected values come from the fixture read with the stdlib ``csv`` module and from reference.md
§4.2, independently of the reader.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from roster.sources.nppes import NPPES_HEADER, NpiCheck, check_file, read_header
from roster.sources.records import ListFormatError

NPPES = Path(__file__).resolve().parents[3] / "fixtures" / "nppes"
SAMPLE = NPPES / "npidata_pfile_20050523-20261108.csv"
DEMO = NPPES.parent / "demo" / "physicians.csv"
DEACTIVATED, REACTIVATED, ABSENT = "1019421514", "1041685821", "1057961603"


def sample_rows() -> list[dict[str, str]]:
    with SAMPLE.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def demo_npis() -> list[str]:
    with DEMO.open(newline="", encoding="utf-8") as f:
        return [row["npi"] for row in csv.DictReader(f)]


def quoted(values: list[str] | tuple[str, ...]) -> str:
    return ",".join('"' + value.replace('"', "'") + '"' for value in values)


def record(npi: str, **values: str) -> list[str]:
    row = dict.fromkeys(NPPES_HEADER, "")
    row.update({"NPI": npi, "Entity Type Code": "1", "Provider Last Name (Legal Name)": "PLUMB"})
    row.update({name.replace("__", " "): value for name, value in values.items()})
    return [row[name] for name in NPPES_HEADER]


def write(tmp_path: Path, *rows: list[str], header: tuple[str, ...] = NPPES_HEADER, tail: str = "\n") -> Path:
    path = tmp_path / "npidata_pfile.csv"
    path.write_text("\n".join([quoted(header), *(quoted(row) for row in rows)]) + tail, encoding="utf-8")
    return path


# -- header --------------------------------------------------------------------------------------


def test_header_is_the_v2_layout_of_reference_md() -> None:
    assert len(NPPES_HEADER) == 330 and len(set(NPPES_HEADER)) == 330
    spots = {
        0: "NPI",
        1: "Entity Type Code",
        5: "Provider Last Name (Legal Name)",
        36: "Provider Enumeration Date",
        39: "NPI Deactivation Date",
        40: "NPI Reactivation Date",
        41: "Provider Sex Code",
        47: "Healthcare Provider Taxonomy Code_1",
        50: "Healthcare Provider Primary Taxonomy Switch_1",
        106: "Healthcare Provider Primary Taxonomy Switch_15",
        107: "Other Provider Identifier_1",
        306: "Other Provider Identifier Issuer_50",
        307: "Is Sole Proprietor",
        313: "Authorized Official Credential Text",
        314: "Healthcare Provider Taxonomy Group_1",
        328: "Healthcare Provider Taxonomy Group_15",
        329: "Certification Date",
    }
    assert {i: NPPES_HEADER[i] for i in spots} == spots


def test_sample_file_header_matches() -> None:
    with SAMPLE.open(newline="", encoding="utf-8") as f:
        assert tuple(next(csv.reader(f))) == NPPES_HEADER
    assert read_header(SAMPLE) == NPPES_HEADER


def test_v1_file_is_named(tmp_path: Path) -> None:
    v1 = tuple("Provider Gender Code" if n == "Provider Sex Code" else n for n in NPPES_HEADER[:-1])
    path = write(tmp_path, record("1234567893")[:-1], header=v1)
    with pytest.raises(ListFormatError, match="V1 NPPES file"):
        check_file(path, ["1234567893"])


def test_renamed_column_is_named(tmp_path: Path) -> None:
    header = tuple("NPI Deactivation Dt" if n == "NPI Deactivation Date" else n for n in NPPES_HEADER)
    path = write(tmp_path, record("1234567893"), header=header)
    with pytest.raises(ListFormatError, match="expected column 40 NPI Deactivation Date, found NPI Deactivation Dt"):
        check_file(path, ["1234567893"])


def test_other_files_are_rejected(tmp_path: Path) -> None:
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text(";".join(f'"{n}"' for n in NPPES_HEADER) + "\n", encoding="utf-8")
    with pytest.raises(ListFormatError, match="not comma-separated"):
        check_file(semicolons, ["1234567893"])
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ListFormatError, match="empty file"):
        check_file(empty, ["1234567893"])


# -- the sample file -------------------------------------------------------------------------------


def test_sample_file_against_the_demo_roster() -> None:
    npis = demo_npis()
    result = check_file(SAMPLE, npis)
    published = {row["NPI"]: row for row in sample_rows()}
    assert set(result.checks) == set(npis)
    assert result.found == len(set(npis) & set(published)) == len(npis) - 1
    assert result.checks[DEACTIVATED].outcome == "deactivated"
    assert result.checks[DEACTIVATED].details["deactivated_on"] == "2026-09-14"
    assert result.checks[REACTIVATED].outcome == "verified"
    assert result.checks[REACTIVATED].details["reactivated_on"] == "2019-07-15"
    assert result.checks[ABSENT] == NpiCheck(ABSENT, "not_found", {"source": "file"})
    assert result.checks[ABSENT].npi_status == "deactivated"
    others = [n for n in npis if n not in (DEACTIVATED, REACTIVATED, ABSENT)]
    assert {result.checks[n].outcome for n in others} == {"verified"}

    # details, compared with the stdlib's reading of the same row
    npi = others[0]
    row, details = published[npi], result.checks[npi].details
    assert details["entity_type"] == "individual"
    assert details["name"]["last"] == row["Provider Last Name (Legal Name)"]
    assert details["name"]["first"] == row["Provider First Name"]
    expected = [
        {
            "code": row[f"Healthcare Provider Taxonomy Code_{n}"],
            "license": row[f"Provider License Number_{n}"] or None,
            "state": row[f"Provider License Number State Code_{n}"] or None,
            "primary": row[f"Healthcare Provider Primary Taxonomy Switch_{n}"] == "Y",
        }
        for n in range(1, 16)
        if row[f"Healthcare Provider Taxonomy Code_{n}"]
    ]
    assert details["taxonomies"] == expected and expected


def test_increment_reports_only_what_it_has() -> None:
    result = check_file(SAMPLE, [DEACTIVATED, ABSENT, REACTIVATED], full=False)
    assert set(result.checks) == {DEACTIVATED, REACTIVATED}


def test_a_full_file_lacking_most_of_the_roster_is_refused() -> None:
    """Most likely a weekly increment or another file: never a mass deactivation."""
    absent = [f"{n}" for n in ("1234567893", "1003000126", "1972902351")]
    with pytest.raises(ListFormatError, match=r"only 1 of 4 roster NPIs"):
        check_file(SAMPLE, [REACTIVATED, *absent])


# -- status rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deactivated", "reactivated", "outcome"),
    [
        ("", "", "verified"),
        ("01/05/2020", "", "deactivated"),
        ("01/05/2020", "02/01/2020", "verified"),
        ("01/05/2020", "01/05/2020", "verified"),
        ("06/01/2021", "02/01/2020", "deactivated"),  # deactivated again after an earlier reactivation
    ],
)
def test_deactivation_and_reactivation(tmp_path: Path, deactivated: str, reactivated: str, outcome: str) -> None:
    path = write(
        tmp_path,
        record("1234567893", NPI__Deactivation__Date=deactivated, NPI__Reactivation__Date=reactivated),
    )
    assert check_file(path, ["1234567893"]).checks["1234567893"].outcome == outcome


def test_a_bad_value_only_fails_its_own_npi(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        record("1234567893", NPI__Deactivation__Date="2020-01-05"),
        record("1003000126"),
        record("1972902351"),
        record("1972902351"),
    )
    checks = check_file(path, ["1234567893", "1003000126", "1972902351"]).checks
    assert checks["1234567893"].outcome == "error"
    assert "invalid date '2020-01-05' in 'NPI Deactivation Date'" in (checks["1234567893"].error or "")
    assert checks["1234567893"].npi_status is None
    assert checks["1003000126"].outcome == "verified"
    assert checks["1972902351"].outcome == "error" and "appears 2 times" in (checks["1972902351"].error or "")


def test_organization_npi_is_reported_as_such(tmp_path: Path) -> None:
    path = write(tmp_path, record("1234567893", Entity__Type__Code="2"))
    check = check_file(path, ["1234567893"]).checks["1234567893"]
    assert check.outcome == "verified" and check.details["entity_type"] == "organization"


# -- broken files ------------------------------------------------------------------------------------


def test_truncated_sample_is_rejected(tmp_path: Path) -> None:
    data = SAMPLE.read_bytes()
    for cut in (len(data) // 2, len(data) - 40):
        at = data.rfind(b'","', 0, cut)  # a record cut at a field boundary
        path = tmp_path / f"cut{cut}.csv"
        path.write_bytes(data[: at + 1])
        with pytest.raises(ListFormatError, match="truncated file"):
            check_file(path, demo_npis())


def test_record_cut_inside_a_value_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, record("1234567893"), tail="\n")
    cut = quoted(record("1003000126"))
    with path.open("a", encoding="utf-8") as f:
        f.write(cut[: cut.index("PLUMB") + 3])  # '..."PLU': the download stopped mid-value
    with pytest.raises(ListFormatError, match="unreadable NPPES file"):
        check_file(path, ["1234567893", "1003000126"])


def test_short_record_anywhere_is_rejected_even_off_roster(tmp_path: Path) -> None:
    path = write(tmp_path, record("1234567893"), record("1003000126")[:100], record("1972902351"))
    with pytest.raises(ListFormatError, match=r"truncated file.*1003000126"):
        check_file(path, ["1234567893", "1972902351"])


def test_fields_after_the_last_column_are_not_read(tmp_path: Path) -> None:
    """The scan stops at column 330 (the last it needs): a stray trailing field shifts nothing."""
    path = write(tmp_path, record("1234567893"), [*record("1003000126", NPI__Deactivation__Date="01/05/2020"), "x"])
    checks = check_file(path, ["1234567893", "1003000126"]).checks
    assert checks["1234567893"].outcome == "verified"
    assert checks["1003000126"].outcome == "deactivated"
