"""The shipped list fixtures against the demo roster: exactly the planted hits, none of the near misses
(fixtures/lists/README.md lists them)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from roster.config import Settings
from roster.screening.matching import ROSTER_SCHEMA, screen
from roster.screening.names import load_nicknames
from roster.screening.service import MATCH_KINDS_BY_SOURCE, screen_lists
from roster.sources.leie import apply_leie_supplement, read_leie
from roster.sources.preclusion import read_preclusion
from roster.sources.records import ListFormatError
from roster.sources.sam import read_sam

FIXTURES = Settings().fixtures_dir
LISTS = FIXTURES / "lists"


@pytest.fixture(scope="module")
def demo_roster() -> pl.DataFrame:
    people = pl.read_csv(FIXTURES / "demo" / "physicians.csv", infer_schema=False)
    states = (
        pl.read_csv(FIXTURES / "demo" / "licenses.csv", infer_schema=False)
        .group_by("npi")
        .agg(states=pl.col("state").unique().sort())
    )
    return (
        people.join(states, on="npi", how="left")
        .select(
            physician_id=pl.col("npi"),
            npi="npi",
            first_name="first_name",
            middle_name="middle_name",
            last_name="last_name",
            former_last_names=pl.col("former_last_names")
            .fill_null("")
            .str.split(";")
            .list.eval(pl.element().filter(pl.element() != "")),
            dob=pl.col("date_of_birth").str.to_date(),
            states=pl.col("states").fill_null([]),
        )
        .cast(ROSTER_SCHEMA)
    )


def hits(roster: pl.DataFrame, listing: pl.DataFrame, source: str) -> dict[str, str]:
    found = screen(
        roster, listing, nicknames=load_nicknames(FIXTURES / "nicknames.csv"), kinds=MATCH_KINDS_BY_SOURCE[source]
    )
    return dict(zip(found["physician_id"], found["match_kind"], strict=True))


def test_leie_full_file(demo_roster: pl.DataFrame) -> None:
    assert hits(demo_roster, read_leie(LISTS / "UPDATED.csv"), "oig_leie") == {
        "1050998396": "npi",
        "1244173351": "name_dob",
        "1568518355": "name_dob",
        "1113142156": "name_dob",
        "1189888054": "name_dob",
        "1637967229": "name_dob",
        "1584652881": "name",
        "1102493719": "name_dob",
    }


def test_leie_supplements(demo_roster: pl.DataFrame) -> None:
    base = read_leie(LISTS / "UPDATED.csv")
    excluded = apply_leie_supplement(base, read_leie(LISTS / "2611EXCL.csv"), "excl")
    reinstated = apply_leie_supplement(excluded, read_leie(LISTS / "2611REIN.csv"), "rein")
    found = hits(demo_roster, reinstated, "oig_leie")
    assert found["1573935891"] == "name_dob", "the November exclusion is screened"
    assert "1102493719" not in found, "the reinstated physician is no longer listed"


def test_sam_extract(demo_roster: pl.DataFrame) -> None:
    listing = read_sam(LISTS / "SAM_Exclusions_Public_Extract_V2_26327.ZIP")
    assert hits(demo_roster, listing, "sam") == {"1313575957": "npi", "1901119010": "name"}


@pytest.mark.parametrize("name", ["preclusion.csv", "preclusion.xlsx"])
def test_preclusion_list(demo_roster: pl.DataFrame, name: str) -> None:
    listing = read_preclusion(LISTS / name, file_name=name)
    assert listing["excluded_on"].min() >= date(2000, 1, 1)
    assert hits(demo_roster, listing, "cms_preclusion") == {"1309250201": "npi", "1862134370": "npi"}


# -- every list in one run (service.screen_lists) --------------------------------------------------

READERS = {
    "oig_leie": lambda: read_leie(LISTS / "UPDATED.csv"),
    "sam": lambda: read_sam(LISTS / "SAM_Exclusions_Public_Extract_V2_26327.ZIP"),
    "cms_preclusion": lambda: read_preclusion(LISTS / "preclusion.csv", file_name="preclusion.csv"),
}


def each_alone(roster: pl.DataFrame) -> pl.DataFrame:
    nicknames = load_nicknames(FIXTURES / "nicknames.csv")
    return pl.concat(
        screen(roster, read(), nicknames=nicknames, kinds=MATCH_KINDS_BY_SOURCE[source]).with_columns(
            source=pl.lit(source)
        )
        for source, read in READERS.items()
    )


def test_screen_lists_of_loaders_and_of_frames_equal_each_list_screened_alone(demo_roster: pl.DataFrame) -> None:
    nicknames = load_nicknames(FIXTURES / "nicknames.csv")
    calls: list[str] = []

    def loader(source: str):
        def load() -> pl.DataFrame:
            calls.append(source)
            return READERS[source]()

        return load

    expected = each_alone(demo_roster)
    assert set(expected["source"]) == set(READERS)
    loaded = screen_lists(demo_roster, {source: loader(source) for source in READERS}, nicknames, 0.93)
    framed = screen_lists(demo_roster, {source: read() for source, read in READERS.items()}, nicknames, 0.93)
    assert calls == list(READERS), "each loader is called once, in the order given"
    assert loaded.equals(expected)
    assert framed.equals(expected)


def test_screen_lists_stops_at_a_list_that_cannot_be_loaded(demo_roster: pl.DataFrame) -> None:
    calls: list[str] = []

    def broken() -> pl.DataFrame:
        calls.append("sam")
        raise ListFormatError("header mismatch", line=1)

    def never() -> pl.DataFrame:
        calls.append("cms_preclusion")
        return READERS["cms_preclusion"]()

    loaders = {"oig_leie": READERS["oig_leie"], "sam": broken, "cms_preclusion": never}
    with pytest.raises(ListFormatError, match="header mismatch"):
        screen_lists(demo_roster, loaders, load_nicknames(FIXTURES / "nicknames.csv"), 0.93)
    assert calls == ["sam"], "no list after the broken one is loaded"


def test_screen_lists_of_nothing(demo_roster: pl.DataFrame) -> None:
    hits = screen_lists(demo_roster, {}, load_nicknames(FIXTURES / "nicknames.csv"), 0.93)
    assert hits.is_empty()
    assert "source" in hits.columns
