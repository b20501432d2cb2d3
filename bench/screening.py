"""Exclusion/preclusion screening at full scale: the polars engine against its parse floor and a naive loop.

Run as a script from the repository root with the project venv (figures, not pass/fail; exit 0)::

    python bench/screening.py [--physicians 50000] [--leie 80000] [--sam 150000] [--preclusion 20000] [--seed 7]

It generates, in a temporary directory and in the publishers' real byte formats, a roster of synthetic
physicians (a Parquet file in the matcher's ``ROSTER_SCHEMA``: a run builds that frame from the database),
an OIG LEIE ``UPDATED.csv`` (18 columns, every field quoted, ``0000000000`` / ``00000000`` placeholders),
a SAM ``SAM_Exclusions_Public_Extract_V2_YYDDD.ZIP`` (one quoted 31-column CSV, CRLF) and a CMS Preclusion
List CSV in the default layout of api.md, with planted true matches and near misses recorded as ground
truth. Headers are written from reference.md here, not imported from the readers.

Names come from skewed (Zipf-like) pools of first and last names calibrated on US name frequencies, so
roster and lists collide on common names the way real data does; the report prints the resulting chance
that two random people share a first + last name.

Measurements, each in ``--repeat`` fresh subprocesses (medians are printed). A subprocess does the measured
work twice: a cold run, first in the process (its ``ru_maxrss`` is the peak RSS reported: the work plus the
interpreter, polars and the roster frame, printed separately), then a warm run, as in the long-lived server
process that loads snapshots and runs screening jobs; the targets are judged on the warm figures, and the
cold ones are printed beside them:

* full run: ``roster.screening.service.screen_lists`` given ``read_leie``, ``read_sam`` and
  ``read_preclusion`` of the files as loaders, as ``screen_sources`` gives it Parquet reads: the roster is
  prepared once, in a thread, while the lists are parsed one after another, and each list is screened, with
  the service's match kinds per source, as soon as it is parsed (no database). The parse times printed are
  each reader's own, overlapping the screening of the lists before it; "screen" is what is left after the
  last one. Also, informational, a "service-shaped" run in the same process: ``pl.read_parquet`` of the
  parsed snapshots as the loaders, as a screening job runs once the files were loaded as snapshots;
* parse floor: ``pl.read_csv(path_or_bytes, infer_schema=False)`` of each file with default options, and
  the SAM CSV taken out of its ZIP with ``zipfile`` (the inflate is part of the floor, shown separately);
* naive baseline: the ``csv`` module and plain Python normalisation of every row (measured in full), then a
  nested loop physician x list row (NPI equality; normalised last-name variants + first-name compatibility
  + DOB; rapidfuzz Jaro-Winkler on "LAST FIRST" for every pair where the rules allow a name-only match,
  i.e. one side without DOB, compatible first names, no conflicting middle names and the row's state, if
  any, a license state; no blocking) over a sample of
  physicians within a time budget, extrapolated linearly to the whole roster and labelled so. Its hits on
  the sample are compared with the engine's (a difference is usually the engine's 3-letter blocking).

Recall is over the planted true matches. Every other hit is either a lead rules.md §4 itself requires, or a
false hit. Required: the row carries the physician's normalised name (a last-name variant, and the first name,
its first word, an initial or a nickname), no conflicting middle name, no DOB to tell them apart (or the same
DOB), and a license state or no state: the rules make it a hit ("names are leads") and only a person can tell
it apart, so it is printed, per 1,000 clean physicians, beside the target but not judged. False: everything an
engine could have ruled out (a fuzzy last name that is another person, a planted near miss, an NPI
coincidence); these are judged against the target, per 1,000 clean physicians (physicians in no planted
case). Both are broken down by cause.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import uuid
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from options import parser_for  # bench/options.py
from screening_names import (  # bench/screening_names.py
    _CONSONANTS,
    _GIVEN_ENDS,
    _ONSETS,
    _SURNAME_ENDS,
    _VOWELS,
    COMMON_GIVEN,
    COMMON_SURNAMES,
    GIVEN_OFFSET,
    GIVEN_POOL_SIZE,
    SURNAME_OFFSET,
    SURNAME_POOL_SIZE,
)

REPO = Path(__file__).resolve().parent.parent
NICKNAMES = REPO / "fixtures" / "nicknames.csv"
SEP = "\x1f"
ANCHOR = dt.date(2026, 11, 23)

LEIE_FILE = "UPDATED.csv"
SAM_FILE = "SAM_Exclusions_Public_Extract_V2_26327.ZIP"
PRECLUSION_FILE = "preclusion.csv"
ROSTER_FILE = "roster.parquet"
TRUTH_FILE = "truth.json"
HITS_FILE = "hits.parquet"
SOURCES = ("oig_leie", "sam", "cms_preclusion")

# Publisher headers, from the shared domain reference.md §1.2, §2.2 and api.md (not from the readers).
LEIE_HEADER = (
    "LASTNAME,FIRSTNAME,MIDNAME,BUSNAME,GENERAL,SPECIALTY,UPIN,NPI,DOB,ADDRESS,CITY,STATE,ZIP,EXCLTYPE,"
    "EXCLDATE,REINDATE,WAIVERDATE,WVRSTATE"
).split(",")
SAM_HEADER = [
    "Classification", "Name", "Prefix", "First", "Middle", "Last", "Suffix", "Address 1", "Address 2",
    "Address 3", "Address 4", "City", "State / Province", "Country", "Zip Code", "Open Data Flag",
    "Blank (Deprecated)", "Unique Entity ID", "Exclusion Program", "Excluding Agency", "CT Code",
    "Exclusion Type", "Additional Comments", "Active Date", "Termination Date", "Record Status",
    "Cross-Reference", "SAM Number", "CAGE", "NPI", "Creation_Date",
]  # fmt: skip
PRECLUSION_HEADER = [
    "NPI", "Last Name", "First Name", "Middle Name", "Business Name", "Provider Type", "Effective Date",
    "Claim Denial Date", "Reason",
]  # fmt: skip
#: Where each source keeps the listed person's last and first name.
NAME_COLUMNS = {
    "oig_leie": ("LASTNAME", "FIRSTNAME"),
    "sam": ("Last", "First"),
    "cms_preclusion": ("Last Name", "First Name"),
}
MIDDLE_COLUMNS = {"oig_leie": "MIDNAME", "sam": "Middle", "cms_preclusion": "Middle Name"}
STATE_COLUMNS = {"oig_leie": "STATE", "sam": "State / Province", "cms_preclusion": "State"}

# --------------------------------------------------------------------------------------------
# name pools
# --------------------------------------------------------------------------------------------

# The pools are shared with bench/screening_classes.py (bench/screening_names.py).


def name_pools() -> tuple[list[str], list[float], list[str], list[float]]:
    """(surnames, cumulative weights, given names, cumulative weights), in display-ready upper case."""
    rng = random.Random(1)  # the pools do not depend on --seed
    surnames = list(dict.fromkeys(COMMON_SURNAMES))
    taken = set(surnames)
    while len(surnames) < SURNAME_POOL_SIZE:
        name = rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CONSONANTS) + rng.choice(_SURNAME_ENDS)
        if name not in taken:
            taken.add(name)
            surnames.append(name)
    given = list(dict.fromkeys(COMMON_GIVEN))
    taken = set(given)
    while len(given) < GIVEN_POOL_SIZE:
        name = rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CONSONANTS) + rng.choice(_GIVEN_ENDS)
        if name not in taken:
            taken.add(name)
            given.append(name)

    def cumulative(n: int, offset: int) -> list[float]:
        total, out = 0.0, []
        for rank in range(n):
            total += 1.0 / (rank + offset)
            out.append(total)
        return out

    return surnames, cumulative(len(surnames), SURNAME_OFFSET), given, cumulative(len(given), GIVEN_OFFSET)


def collision_chance(cum: list[float]) -> float:
    """Probability that two independent draws from the pool are equal (sum of p^2)."""
    total = cum[-1]
    previous, acc = 0.0, 0.0
    for c in cum:
        p = (c - previous) / total
        acc += p * p
        previous = c
    return acc


# --------------------------------------------------------------------------------------------
# places, publisher vocabulary
# --------------------------------------------------------------------------------------------

#: State -> population (millions, 2020, rounded): license states and list addresses follow it.
STATE_POPULATION = {
    "CA": 39.5, "TX": 29.1, "FL": 21.5, "NY": 20.2, "PA": 13.0, "IL": 12.8, "OH": 11.8, "GA": 10.7, "NC": 10.4,
    "MI": 10.1, "NJ": 9.3, "VA": 8.6, "WA": 7.7, "AZ": 7.2, "MA": 7.0, "TN": 6.9, "IN": 6.8, "MD": 6.2,
    "MO": 6.2, "WI": 5.9, "CO": 5.8, "MN": 5.7, "SC": 5.1, "AL": 5.0, "LA": 4.7, "KY": 4.5, "OR": 4.2,
    "OK": 4.0, "CT": 3.6, "UT": 3.3, "IA": 3.2, "NV": 3.1, "AR": 3.0, "MS": 3.0, "KS": 2.9, "NM": 2.1,
    "NE": 2.0, "ID": 1.8, "WV": 1.8, "HI": 1.5, "NH": 1.4, "ME": 1.4, "RI": 1.1, "MT": 1.1, "DE": 1.0,
    "SD": 0.9, "ND": 0.8, "AK": 0.7, "DC": 0.7, "VT": 0.6, "WY": 0.6,
}  # fmt: skip
STATES = list(STATE_POPULATION)
STATE_CUM: list[float] = []
_acc = 0.0
for _pop in STATE_POPULATION.values():
    _acc += _pop
    STATE_CUM.append(_acc)

CITIES = ["SPRINGFIELD", "FRANKLIN", "GREENVILLE", "BRISTOL", "CLINTON", "FAIRVIEW", "SALEM", "MADISON",
          "GEORGETOWN", "ARLINGTON", "ASHLAND", "BURLINGTON", "MANCHESTER", "OXFORD", "JACKSON", "MILTON"]  # fmt: skip
STREETS = ["MAIN ST", "OAK AVE", "PINE RD", "MAPLE DR", "CEDAR LN", "ELM ST", "LAKE BLVD", "HILL RD", "PARK AVE",
           "2ND ST", "WASHINGTON AVE", "RIVER RD", "CHURCH ST", "HIGHLAND AVE"]  # fmt: skip
EXCLTYPES = ["1128a1", "1128a1", "1128a2", "1128a3", "1128a4", "1128b4", "1128b4", "1128b5", "1128b7", "1128b14"]
GENERAL_IND = [
    ("IND- LIC HC SERV PRO", "NURSE/NURSES AIDE"), ("IND- LIC HC SERV PRO", "PHARMACIST"),
    ("MEDICAL PRACTICE, MD", "FAMILY PRACTICE"), ("MEDICAL PRACTICE, MD", "INTERNAL MEDICINE"),
    ("BUS OWNER/EXEC", "OTHER BUSINESS"), ("", "HOME HEALTH AIDE"), ("IND- LIC HC SERV PRO", "PHYSICIAN (MD, DO)"),
]  # fmt: skip
GENERAL_BUS = [("OTHER BUSINESS", "PHARMACY"), ("OTHER BUSINESS", "SOBER HOME"), ("NURSING FIRM", "NURSING HOME"),
               ("BILLING SERVICE CO", "BILLING SERVICE"), ("PHYSICIAN PRACTICE (", "GENERAL PRACTICE/FP")]  # fmt: skip
BUS_SUFFIX = ["INC", "LLC", "CORP", "PHARMACY INC", "MEDICAL SUPPLY LLC", "HOME CARE INC", "CLINIC PC", "DME LLC"]
SAM_AGENCIES = ["HHS", "HHS", "HHS", "HHS", "GSA", "DOL", "NAVY", "ARMY", "EPA", "TREAS-OFAC", "OPM", ""]
SAM_TYPES = ["Ineligible (Proceedings Completed)", "Ineligible (Proceedings Completed)",
             "Ineligible (Proceedings Pending)", "Prohibition/Restriction", "Voluntary Exclusion"]  # fmt: skip
PROVIDER_TYPES = ["Physician", "Physician", "Nurse Practitioner", "Physician Assistant", "Dentist", "Chiropractor"]
ENTITY_TYPES = ["Pharmacy", "DME Supplier", "Ambulance Service Supplier", "Clinic/Group Practice", "Home Health Agency"]
REASONS = ["Revoked with re-enrollment bar", "Revoked with re-enrollment bar",
           "Felony conviction within previous 10 years", "Could have been revoked had it been enrolled"]  # fmt: skip
ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def fold(text: str) -> str:
    """Upper-case ASCII, as the publishers print names."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()


def ymd(d: dt.date) -> str:
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def mdy(d: dt.date) -> str:
    return f"{d.month:02d}/{d.day:02d}/{d.year:04d}"


def luhn_check(first9: str) -> str:
    total = 0
    for i, ch in enumerate(reversed("80840" + first9 + "0")):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


# --------------------------------------------------------------------------------------------
# generator
# --------------------------------------------------------------------------------------------


@dataclass
class Physician:
    pid: str
    npi: str
    first: str  # as the roster holds it: mixed case, accents kept
    middle: str | None
    last: str
    former: list[str]
    dob: dt.date
    states: list[str]

    @property
    def pub_first(self) -> str:
        return fold(self.first)

    @property
    def pub_last(self) -> str:
        return fold(self.last)

    @property
    def pub_middle(self) -> str:
        return fold(self.middle or "")


@dataclass
class Case:
    name: str
    source: str
    #: "npi" | "name_dob" | "name" for a true match; None for a near miss.
    expect: str | None
    what: str
    rows: list[tuple[str, str]] = field(default_factory=list)  # (physician_id, fingerprint)
    #: A probe of a known limit: reported, but neither in recall nor in the false hits.
    probe: bool = False


class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.surnames, self.surname_cum, self.given, self.given_cum = name_pools()
        self.scale = args.physicians / 50_000
        self.npis: set[str] = set()
        self.sam_numbers: set[str] = set()
        self.physicians: list[Physician] = []
        self.cases: dict[str, Case] = {}
        self.used: set[int] = set()
        self.leie: list[list[str]] = []
        self.sam: list[list[str]] = []
        self.preclusion: list[list[str]] = []
        self.nicknames = self._nicknames()

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _nicknames() -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        with NICKNAMES.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                out[row["name"].strip().upper()].append(row["nickname"].strip().upper())
        return dict(out)

    def npi(self) -> str:
        rng = self.rng
        while True:
            first9 = rng.choice("12") + f"{rng.randrange(10**8):08d}"
            value = first9 + luhn_check(first9)
            if value not in self.npis:
                self.npis.add(value)
                return value

    def surname_batch(self, k: int) -> list[str]:
        return self.rng.choices(self.surnames, cum_weights=self.surname_cum, k=k)

    def given_batch(self, k: int) -> list[str]:
        return self.rng.choices(self.given, cum_weights=self.given_cum, k=k)

    def state(self) -> str:
        return STATES[bisect.bisect_right(STATE_CUM, self.rng.random() * STATE_CUM[-1])]

    def date(self, lo: dt.date, hi: dt.date) -> dt.date:
        return lo + dt.timedelta(days=self.rng.randrange((hi - lo).days + 1))

    def count(self, base: int) -> int:
        return max(1, round(base * self.scale))

    # -- roster -------------------------------------------------------------------------------

    def build_roster(self) -> None:
        rng, n = self.rng, self.args.physicians
        lasts, firsts = self.surname_batch(n), self.given_batch(n)
        extra_lasts, middles = self.surname_batch(n), self.given_batch(n)
        for i in range(n):
            last = lasts[i].title()
            former: list[str] = []
            roll = rng.random()
            if roll < 0.04:  # hyphenated
                last = f"{last}-{extra_lasts[i].title()}"
            elif roll < 0.12:  # a former (maiden) last name
                former = [extra_lasts[i].title()]
            first = firsts[i].title()
            if rng.random() < 0.02:
                first = f"{first} {middles[(i + 1) % n].title()}"
            m = rng.random()
            middle = middles[i].title() if m < 0.3 else (middles[i][0] if m < 0.55 else None)
            count = rng.choices((1, 2, 3, 4), weights=(55, 30, 12, 3))[0]
            states: list[str] = []
            while len(states) < count:
                s = self.state()
                if s not in states:
                    states.append(s)
            self.physicians.append(
                Physician(
                    pid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    npi=self.npi(),
                    first=first,
                    middle=middle,
                    last=last,
                    former=former,
                    dob=self.date(dt.date(1945, 1, 1), dt.date(1995, 12, 31)),
                    states=sorted(states),
                )
            )

    def take(self, predicate, *, required: bool = True) -> Physician:
        """A random physician not yet in a planted case that satisfies ``predicate``."""
        n = len(self.physicians)
        for _ in range(200_000):
            i = self.rng.randrange(n)
            if i not in self.used and predicate(self.physicians[i]):
                self.used.add(i)
                return self.physicians[i]
        if required:
            raise SystemExit("roster too small for the planted cases")
        return None  # type: ignore[return-value]

    # -- rows -----------------------------------------------------------------------------------

    def leie_row(self, **values: str) -> list[str]:
        row = dict.fromkeys(LEIE_HEADER, "")
        row.update(NPI="0000000000", REINDATE="00000000", WAIVERDATE="00000000")
        row.update(values)
        row["LASTNAME"], row["FIRSTNAME"], row["MIDNAME"] = (
            row["LASTNAME"][:20],
            row["FIRSTNAME"][:15],
            row["MIDNAME"][:15],
        )
        row["BUSNAME"] = row["BUSNAME"][:30]
        return [row[h] for h in LEIE_HEADER]

    def leie_person(self, last: str, first: str, middle: str, *, dob: str, state: str | None = None,
                    npi: str = "0000000000", **extra: str) -> list[str]:  # fmt: skip
        rng = self.rng
        general, specialty = rng.choice(GENERAL_IND)
        values = dict(
            LASTNAME=last, FIRSTNAME=first, MIDNAME=middle, GENERAL=general, SPECIALTY=specialty, NPI=npi, DOB=dob,
            ADDRESS=f"{rng.randint(10, 9999)} {rng.choice(STREETS)}", CITY=rng.choice(CITIES),
            STATE=state or self.state(), ZIP=f"{rng.randrange(100000):05d}", EXCLTYPE=rng.choice(EXCLTYPES),
            EXCLDATE=ymd(self.date(dt.date(1995, 1, 1), dt.date(2026, 10, 31))),
        )  # fmt: skip
        values.update(extra)
        return self.leie_row(**values)

    def leie_entity(self, name: str, state: str | None = None, npi: str | None = None) -> list[str]:
        rng = self.rng
        general, specialty = rng.choice(GENERAL_BUS)
        return self.leie_row(
            BUSNAME=name, GENERAL=general, SPECIALTY=specialty,
            NPI=npi if npi is not None else (self.npi() if rng.random() < 0.3 else "0000000000"),
            ADDRESS=f"{rng.randint(10, 9999)} {rng.choice(STREETS)}", CITY=rng.choice(CITIES),
            STATE=state or self.state(), ZIP=f"{rng.randrange(100000):05d}",
            EXCLTYPE=rng.choice(["1128b8", "1128b7", "1128a1", "BRCH CIA"]),
            EXCLDATE=ymd(self.date(dt.date(1998, 1, 1), dt.date(2026, 10, 31))),
        )  # fmt: skip

    def sam_number(self) -> str:
        while True:
            value = "S4M" + "".join(self.rng.choices(ALNUM, k=6))
            if value not in self.sam_numbers:
                self.sam_numbers.add(value)
                return value

    def sam_row(self, classification: str, *, state: str | None = None, **values: str) -> list[str]:
        rng = self.rng
        active = self.date(dt.date(2005, 1, 1), dt.date(2026, 11, 20))
        agency = rng.choice(SAM_AGENCIES)
        row = dict.fromkeys(SAM_HEADER, "")
        row.update(
            {
                "Classification": classification,
                "Address 1": f"{rng.randint(10, 9999)} {rng.choice(STREETS)}"
                if classification != "Individual" or rng.random() < 0.3 else "",
                "City": rng.choice(CITIES), "State / Province": self.state() if state is None else state,
                "Country": "USA", "Zip Code": f"{rng.randrange(100000):05d}",
                "Exclusion Program": "Reciprocal" if agency == "HHS" or rng.random() < 0.9 else "NonReciprocal",
                "Excluding Agency": agency, "Exclusion Type": rng.choice(SAM_TYPES),
                "Active Date": mdy(active),
                "Termination Date": "Indefinite" if rng.random() < 0.6
                else mdy(active + dt.timedelta(days=365 * 3)),
                "SAM Number": self.sam_number(),
                "Creation_Date": (active + dt.timedelta(days=rng.choice([0, 0, 1, 2]))).isoformat(),
            }
        )  # fmt: skip
        if classification != "Individual" and rng.random() < 0.5:
            row["Unique Entity ID"] = "".join(rng.choices(ALNUM, k=12))
        row.update(values)
        return [row[h] for h in SAM_HEADER]

    def preclusion_row(self, **values: str) -> list[str]:
        rng = self.rng
        effective = self.date(dt.date(2019, 1, 1), dt.date(2026, 11, 1))
        spell = dt.date.isoformat if rng.random() < 0.67 else mdy
        row = dict.fromkeys(PRECLUSION_HEADER, "")
        row.update(
            {
                "NPI": self.npi(), "Provider Type": rng.choice(PROVIDER_TYPES), "Reason": rng.choice(REASONS),
                "Effective Date": spell(effective), "Claim Denial Date": spell(effective + dt.timedelta(days=90)),
            }
        )  # fmt: skip
        row.update(values)
        return [row[h] for h in PRECLUSION_HEADER]

    # -- planted cases ------------------------------------------------------------------------

    def plant(
        self, case: str, source: str, expect: str | None, what: str, p: Physician, row: list[str], probe: bool = False
    ) -> None:
        entry = self.cases.setdefault(case, Case(case, source, expect, what, probe=probe))
        entry.rows.append((p.pid, SEP.join(row)))
        {"oig_leie": self.leie, "sam": self.sam, "cms_preclusion": self.preclusion}[source].append(row)

    def other_state(self, p: Physician) -> str:
        while True:
            s = self.state()
            if s not in p.states:
                return s

    def nickname_of(self, p: Physician) -> str | None:
        options = self.nicknames.get(p.pub_first)
        return self.rng.choice(options) if options else None

    def typo(self, last: str, first: str, early: bool = False) -> str | None:
        """``last`` with one letter changed after the third (``early``: the second or third), the
        "LAST FIRST" Jaro-Winkler still clearly above the threshold."""
        from rapidfuzz.distance import JaroWinkler

        floor = max(self.args.threshold + 0.02, 0.95)
        for _ in range(20):
            i = self.rng.randrange(1, 3) if early else self.rng.randrange(3, len(last))
            if not last[i].isalpha():
                continue
            letter = self.rng.choice([c for c in "AEIOULNRSTY" if c != last[i]])
            candidate = last[:i] + letter + last[i + 1 :]
            if JaroWinkler.normalized_similarity(f"{candidate} {first}", f"{last} {first}") >= floor:
                return candidate
        return None

    def build_planted(self) -> None:
        rng, c = self.rng, self.count
        simple = lambda p: p.last.isalpha() and len(p.pub_last) <= 20 and " " not in p.first  # noqa: E731
        dob = lambda p: ymd(p.dob)  # noqa: E731
        mid = lambda p: p.pub_middle if rng.random() < 0.6 else ""  # noqa: E731
        L = "oig_leie"
        # LEIE true matches
        for _ in range(c(30)):
            p = self.take(lambda p: True)
            self.plant(
                "leie_npi",
                L,
                "npi",
                "physician's NPI, name and DOB",
                p,
                self.leie_person(p.pub_last, p.pub_first, mid(p), dob=dob(p), npi=p.npi),
            )
        for _ in range(c(10)):
            p = self.take(lambda p: True)
            self.plant(
                "leie_npi_other_name",
                L,
                "npi",
                "physician's NPI under another last name, no DOB",
                p,
                self.leie_person(self.surname_batch(1)[0], p.pub_first, "", dob="", npi=p.npi),
            )
        for _ in range(c(50)):
            p = self.take(simple)
            self.plant(
                "leie_name_dob",
                L,
                "name_dob",
                "exact name + DOB, NPI placeholder",
                p,
                self.leie_person(
                    p.pub_last, p.pub_first, mid(p), dob=dob(p), npi="" if rng.random() < 0.1 else "0000000000"
                ),
            )
        for i in range(c(10)):
            p = self.take(lambda p: "'" in p.last and "-" not in p.last, required=False) if i % 2 == 0 else None
            p = p or self.take(simple)
            last = p.pub_last.replace("'", "") if "'" in p.last else f"{p.pub_last} JR"
            self.plant(
                "leie_suffix_punct",
                L,
                "name_dob",
                "`O'BRIEN` as `OBRIEN`, or `SMITH JR`; + DOB",
                p,
                self.leie_person(last, p.pub_first, "", dob=dob(p)),
            )
        for _ in range(c(20)):
            p = self.take(lambda p: "-" in p.last)
            part = rng.choice(p.pub_last.split("-"))
            self.plant(
                "leie_hyphen_part",
                L,
                "name_dob",
                "one part of a hyphenated last name + DOB",
                p,
                self.leie_person(part, p.pub_first, mid(p), dob=dob(p)),
            )
        for _ in range(c(20)):
            p = self.take(lambda p: bool(p.former))
            self.plant(
                "leie_former_name",
                L,
                "name_dob",
                "former last name + DOB",
                p,
                self.leie_person(fold(p.former[0]), p.pub_first, mid(p), dob=dob(p)),
            )
        for _ in range(c(15)):
            p = self.take(simple)
            self.plant(
                "leie_initial",
                L,
                "name_dob",
                "first-name initial + DOB",
                p,
                self.leie_person(p.pub_last, p.pub_first[0], "", dob=dob(p)),
            )
        for _ in range(c(20)):
            p = self.take(lambda p: simple(p) and p.pub_first in self.nicknames)
            self.plant(
                "leie_nickname",
                L,
                "name_dob",
                "nickname + DOB",
                p,
                self.leie_person(p.pub_last, self.nickname_of(p) or "", mid(p), dob=dob(p)),
            )
        for _ in range(c(20)):
            p = self.take(simple)
            self.plant(
                "leie_no_dob_state",
                L,
                "name",
                "exact name, no DOB, in a license state",
                p,
                self.leie_person(p.pub_last, p.pub_first, mid(p), dob="", state=rng.choice(p.states)),
            )
        for _ in range(c(15)):
            while True:
                p = self.take(lambda p: simple(p) and len(p.pub_last) >= 6)
                typo = self.typo(p.pub_last, p.pub_first)
                if typo:
                    break
            self.plant(
                "leie_no_dob_typo",
                L,
                "name",
                "one-letter typo after the 3rd letter, no DOB, license state",
                p,
                self.leie_person(typo, p.pub_first, "", dob="", state=rng.choice(p.states)),
            )
        for _ in range(c(10)):
            while True:
                p = self.take(lambda p: simple(p) and len(p.pub_last) >= 7)
                typo = self.typo(p.pub_last, p.pub_first, early=True)
                if typo:
                    break
            self.plant(
                "probe_typo_2nd_3rd_letter",
                L,
                "name",
                "typo in the 2nd/3rd letter (JW >= 0.95), no DOB, license state [probe: not in recall]",
                p,
                self.leie_person(typo, p.pub_first, "", dob="", state=rng.choice(p.states)),
                probe=True,
            )
        # SAM true matches
        for _ in range(c(15)):
            p = self.take(simple)
            self.plant(
                "sam_npi",
                "sam",
                "npi",
                "Individual with the physician's NPI",
                p,
                self.sam_row("Individual", First=p.pub_first, Last=p.pub_last, NPI=p.npi),
            )
        for _ in range(c(40)):
            p = self.take(simple)
            self.plant(
                "sam_name_state",
                "sam",
                "name",
                "Individual, exact name, in a license state",
                p,
                self.sam_row("Individual", state=rng.choice(p.states), First=p.pub_first, Last=p.pub_last),
            )
        for _ in range(c(10)):
            p = self.take(simple)
            self.plant(
                "sam_middle_suffix",
                "sam",
                "name",
                "exact name with Middle and Suffix, license state",
                p,
                self.sam_row(
                    "Individual",
                    state=rng.choice(p.states),
                    First=p.pub_first,
                    Last=p.pub_last,
                    Middle=p.pub_middle or "A",
                    Suffix=rng.choice(["JR", "SR", "III", "MD"]),
                ),
            )
        for _ in range(c(10)):
            p = self.take(lambda p: simple(p) and p.pub_first in self.nicknames)
            self.plant(
                "sam_nickname_state",
                "sam",
                "name",
                "nickname, license state",
                p,
                self.sam_row(
                    "Individual", state=rng.choice(p.states), First=self.nickname_of(p) or "", Last=p.pub_last
                ),
            )
        # preclusion true matches
        for _ in range(c(35)):
            p = self.take(simple)
            self.plant(
                "preclusion_npi",
                "cms_preclusion",
                "npi",
                "physician's NPI",
                p,
                self.preclusion_row(
                    NPI=p.npi, **{"Last Name": p.pub_last, "First Name": p.pub_first, "Provider Type": "Physician"}
                ),
            )
        # near misses
        for i in range(c(40)):
            p = self.take(simple)
            other = p.dob
            while other == p.dob:
                other = (p.dob.replace(month=rng.randint(1, 12), day=rng.randint(1, 28)) if i % 2
                         else self.date(dt.date(1940, 1, 1), dt.date(1996, 12, 31)))  # fmt: skip
            self.plant(
                "leie_other_dob",
                L,
                None,
                "same name, another DOB",
                p,
                self.leie_person(p.pub_last, p.pub_first, mid(p), dob=ymd(other), state=rng.choice(p.states)),
            )
        for _ in range(c(15)):
            p = self.take(simple)
            first = p.pub_first
            nicks = set(self.nicknames.get(first, [])) | {k for k, v in self.nicknames.items() if first in v}
            # unrelated: nor the physician's middle name, which a list may print as the first (a true match)
            while first[0] == p.pub_first[0] or first in nicks or first == p.pub_middle:
                first = fold(self.given_batch(1)[0])
            self.plant(
                "leie_other_first",
                L,
                None,
                "same last name and DOB, unrelated first name (not the middle)",
                p,
                self.leie_person(p.pub_last, first, "", dob=dob(p), state=rng.choice(p.states)),
            )
        for _ in range(c(20)):
            p = self.take(simple)
            name = f"{p.pub_first} {p.pub_last}" if rng.random() < 0.5 else f"{p.pub_last} {p.pub_first}"
            self.plant(
                "leie_entity_name",
                L,
                None,
                "entity row whose BUSNAME is the physician's name",
                p,
                self.leie_entity(name, state=rng.choice(p.states), npi="0000000000"),
            )
        for _ in range(c(20)):
            p = self.take(simple)
            self.plant(
                "leie_no_dob_other_state",
                L,
                None,
                "same name, no DOB, in a state with no license",
                p,
                self.leie_person(p.pub_last, p.pub_first, mid(p), dob="", state=self.other_state(p)),
            )
        for _ in range(c(30)):
            p = self.take(simple)
            self.plant(
                "sam_other_state",
                "sam",
                None,
                "Individual, same name, a state with no license",
                p,
                self.sam_row("Individual", state=self.other_state(p), First=p.pub_first, Last=p.pub_last),
            )
        for _ in range(c(20)):
            p = self.take(simple)
            self.plant(
                "sam_firm_name",
                "sam",
                None,
                "Firm whose Name is the physician's name, license state",
                p,
                self.sam_row("Firm", state=rng.choice(p.states), Name=f"{p.pub_first} {p.pub_last}"),
            )
        for _ in range(c(20)):
            p = self.take(simple)
            self.plant(
                "preclusion_other_npi",
                "cms_preclusion",
                None,
                "same name under another NPI (fixtures/lists/README: matched by NPI)",
                p,
                self.preclusion_row(
                    **{"Last Name": p.pub_last, "First Name": p.pub_first, "Provider Type": "Physician"}
                ),
            )

    # -- filler -------------------------------------------------------------------------------

    def build_filler(self) -> None:
        rng = self.rng
        n = max(0, self.args.leie - len(self.leie))
        lasts, firsts, middles = self.surname_batch(n), self.given_batch(n), self.given_batch(n)
        for i in range(n):
            if rng.random() < 0.12:
                self.leie.append(self.leie_entity(f"{lasts[i]} {rng.choice(BUS_SUFFIX)}"))
                continue
            dob = ymd(self.date(dt.date(1935, 1, 1), dt.date(1998, 12, 31))) if rng.random() < 0.92 else ""
            roll = rng.random()
            npi = self.npi() if roll < 0.09 else ("" if roll < 0.10 else "0000000000")
            m = rng.random()
            middle = fold(middles[i]) if m < 0.25 else (middles[i][0] if m < 0.5 else "")
            row = self.leie_person(fold(lasts[i]), fold(firsts[i]), middle, dob=dob, npi=npi)
            if rng.random() < 0.03:
                row[LEIE_HEADER.index("UPIN")] = "".join(rng.choices(ALNUM, k=6))
            self.leie.append(row)
        self.leie.sort(key=lambda r: (r[0] or r[3], r[1], r[3], r[14]))
        for _ in range(max(1, len(self.leie) // 3000)):  # byte-identical repeated lines, as in the live file
            i = rng.randrange(len(self.leie))
            self.leie.insert(i + 1, list(self.leie[i]))

        n = max(0, self.args.sam - len(self.sam))
        lasts, firsts, middles = self.surname_batch(n), self.given_batch(n), self.given_batch(n)
        for i in range(n):
            roll = rng.random()
            if roll < 0.93:
                state = self.state() if rng.random() < 0.97 else ""
                values = {"First": fold(firsts[i]), "Last": fold(lasts[i])}
                if rng.random() < 0.4:
                    values["Middle"] = fold(middles[i]) if rng.random() < 0.5 else middles[i][0]
                if rng.random() < 0.02:
                    values["NPI"] = self.npi()
                if rng.random() < 0.03:
                    values["Suffix"] = rng.choice(["JR", "SR", "III"])
                self.sam.append(self.sam_row("Individual", state=state, **values))
            elif roll < 0.98:
                self.sam.append(self.sam_row("Firm", Name=f"{lasts[i]} {rng.choice(BUS_SUFFIX)}"))
            elif roll < 0.995:
                self.sam.append(self.sam_row("Special Entity Designation", Name=f"{lasts[i]} TRADING GROUP"))
            else:
                self.sam.append(self.sam_row("Vessel", Name=f"MV {lasts[i]} {rng.randint(1, 9)}", Country="PAN"))
        rng.shuffle(self.sam)
        for _ in range(max(1, len(self.sam) // 100)):  # repeated rows and a row per cross-reference
            i = rng.randrange(len(self.sam))
            copy = list(self.sam[i])
            if copy[0] != "Individual" and rng.random() < 0.5:
                copy[SAM_HEADER.index("Cross-Reference")] = (
                    f"(also {self.surname_batch(1)[0]} {rng.choice(BUS_SUFFIX)})"
                )
            self.sam.insert(i + 1, copy)

        n = max(0, self.args.preclusion - len(self.preclusion))
        lasts, firsts, middles = self.surname_batch(n), self.given_batch(n), self.given_batch(n)
        for i in range(n):
            if rng.random() < 0.2:
                values = {
                    "Business Name": f"{lasts[i]} {rng.choice(BUS_SUFFIX)}",
                    "Provider Type": rng.choice(ENTITY_TYPES),
                }
                if rng.random() < 0.02:
                    values["NPI"] = ""
                self.preclusion.append(self.preclusion_row(**values))
            else:
                middle = middles[i][0] if rng.random() < 0.4 else ""
                self.preclusion.append(
                    self.preclusion_row(
                        **{"Last Name": fold(lasts[i]), "First Name": fold(firsts[i]), "Middle Name": middle}
                    )
                )
        rng.shuffle(self.preclusion)

    # -- output -------------------------------------------------------------------------------

    def write(self, out: Path) -> dict[str, int]:
        import polars as pl

        from roster.screening.matching import ROSTER_SCHEMA

        def quoted(values: list[str]) -> str:
            return ",".join('"' + v.replace('"', '""') + '"' for v in values)

        leie = "\n".join([quoted(LEIE_HEADER), *map(quoted, self.leie)]) + "\n"
        (out / LEIE_FILE).write_bytes(leie.encode("utf-8"))

        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(SAM_HEADER)
        writer.writerows(self.sam)
        sam_csv = buffer.getvalue().encode("utf-8")
        member = zipfile.ZipInfo(SAM_FILE.removesuffix(".ZIP") + ".CSV", date_time=(2026, 11, 23, 7, 0, 0))
        member.compress_type = zipfile.ZIP_DEFLATED
        with zipfile.ZipFile(out / SAM_FILE, "w") as archive:
            archive.writestr(member, sam_csv)

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")  # a plan's export: minimal quoting
        writer.writerow(PRECLUSION_HEADER)
        writer.writerows(self.preclusion)
        (out / PRECLUSION_FILE).write_bytes(buffer.getvalue().encode("utf-8"))

        ps = self.physicians
        epoch = dt.date(1970, 1, 1)
        roster = pl.DataFrame(
            {
                "physician_id": [p.pid for p in ps],
                "npi": [p.npi for p in ps],
                "first_name": [p.first for p in ps],
                "middle_name": [p.middle for p in ps],
                "last_name": [p.last for p in ps],
                "former_last_names": [";".join(p.former) for p in ps],
                "dob": [(p.dob - epoch).days for p in ps],
                "states": [";".join(p.states) for p in ps],
            }
        ).with_columns(
            pl.col("former_last_names").str.split(";").list.filter(pl.element() != ""),
            pl.col("dob").cast(pl.Int32).cast(pl.Date),
            pl.col("states").str.split(";"),
        )
        roster.select(list(ROSTER_SCHEMA)).cast(ROSTER_SCHEMA).write_parquet(out / ROSTER_FILE)
        truth = [
            {"case": c.name, "source": c.source, "expect": c.expect, "what": c.what, "rows": c.rows, "probe": c.probe}
            for c in self.cases.values()
        ]
        (out / TRUTH_FILE).write_text(json.dumps(truth), encoding="utf-8")
        return {"sam_csv_bytes": len(sam_csv)}


# --------------------------------------------------------------------------------------------
# measured work (each in a fresh subprocess)
# --------------------------------------------------------------------------------------------


def _maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_generate(args: argparse.Namespace, directory: Path) -> dict:
    """Write every file into ``directory``; return what the report says about them."""
    started = time.perf_counter()
    gen = Generator(args)
    gen.build_roster()
    gen.build_planted()
    gen.build_filler()
    extra = gen.write(directory)
    return {
        "seconds": time.perf_counter() - started,
        "rows": {"oig_leie": len(gen.leie), "sam": len(gen.sam), "cms_preclusion": len(gen.preclusion)},
        "sam_csv_bytes": extra["sam_csv_bytes"],
        "surnames": len(gen.surnames),
        "given": len(gen.given),
        "surname_p2": collision_chance(gen.surname_cum),
        "given_p2": collision_chance(gen.given_cum),
    }


def load_physicians(directory: Path) -> dict[str, Physician]:
    import polars as pl

    return {
        r["physician_id"]: Physician(
            pid=r["physician_id"],
            npi=r["npi"],
            first=r["first_name"],
            middle=r["middle_name"],
            last=r["last_name"],
            former=list(r["former_last_names"] or []),
            dob=r["dob"],
            states=list(r["states"] or []),
        )
        for r in pl.read_parquet(directory / ROSTER_FILE).iter_rows(named=True)
    }


def match_kinds() -> dict[str, tuple[str, ...]]:
    """The match kinds a run tries per source, as the service sets them (empty: ``screen``'s default)."""
    try:
        from roster.screening.service import MATCH_KINDS_BY_SOURCE
    except ImportError:
        return {}
    return {source: tuple(kinds) for source, kinds in MATCH_KINDS_BY_SOURCE.items()}


def _cold_and_warm(run) -> dict:
    """``run()`` twice in this fresh process: the first (cold) run, whose peak RSS is the one reported,
    then a warm one, as in the long-lived server process that runs screening jobs."""
    import gc

    setup_rss = _maxrss_mb()
    cold = run(first=True)
    cold_rss = _maxrss_mb()
    gc.collect()
    warm = run(first=False)
    return {"cold": cold, "warm": warm, "setup_rss_mb": setup_rss, "cold_rss_mb": cold_rss}


def worker_full(directory: Path, threshold: float, write_hits: bool) -> dict:
    import polars as pl

    from roster.screening.names import load_nicknames
    from roster.screening.service import screen_lists
    from roster.sources.leie import read_leie
    from roster.sources.preclusion import read_preclusion
    from roster.sources.sam import read_sam

    roster = pl.read_parquet(directory / ROSTER_FILE)

    readers = {
        "oig_leie": (read_leie, LEIE_FILE),
        "sam": (read_sam, SAM_FILE),
        "cms_preclusion": (read_preclusion, PRECLUSION_FILE),
    }

    def run(first: bool, snapshots: bool = False) -> dict:
        t = {}
        start = time.perf_counter()
        nicknames = load_nicknames(NICKNAMES)
        loaded = start

        def loader(source: str, reader, name: str):
            # as a service run: the snapshot parsed at load time, kept as Parquet; else the publisher's file
            def load():
                nonlocal loaded
                began = time.perf_counter()
                if snapshots:
                    frame = pl.read_parquet(directory / f"snapshot-{source}.parquet")
                else:
                    frame = reader(directory / name)
                loaded = time.perf_counter()
                t[f"{'read_parquet' if snapshots else 'parse'} {source} (beside screening)"] = loaded - began
                return frame

            return load

        loaders = {source: loader(source, reader, name) for source, (reader, name) in readers.items()}
        # as roster.screening.service.screen_sources: each list screened as soon as it is loaded
        hits = screen_lists(roster, loaders, nicknames, threshold)
        now = time.perf_counter()
        t["screen, after the last list was loaded"] = now - loaded
        wall = now - start
        if write_hits and first:
            hits.write_parquet(directory / HITS_FILE)
        return {"wall": wall, "steps": t, "hits": hits.height}

    result = _cold_and_warm(run)
    for source, (reader, name) in readers.items():
        reader(directory / name).write_parquet(directory / f"snapshot-{source}.parquet")
    snapshot_run = run(first=False, snapshots=True)
    return {**result, "snapshot_run": snapshot_run, "threads": pl.thread_pool_size(), "kinds": match_kinds()}


def worker_floor(directory: Path) -> dict:
    import polars as pl

    def run(first: bool) -> dict:
        t = {}
        start = time.perf_counter()
        mark = start
        pl.read_csv(directory / LEIE_FILE, infer_schema=False)
        now = time.perf_counter()
        t["oig_leie"], mark = now - mark, now
        with zipfile.ZipFile(directory / SAM_FILE) as archive:
            (member,) = [m for m in archive.infolist() if m.filename.lower().endswith(".csv")]
            data = archive.read(member)
        now = time.perf_counter()
        t["sam inflate"], mark = now - mark, now
        pl.read_csv(data, infer_schema=False)
        now = time.perf_counter()
        t["sam"], mark = now - mark, now
        pl.read_csv(directory / PRECLUSION_FILE, infer_schema=False)
        now = time.perf_counter()
        t["cms_preclusion"] = now - mark
        return {"wall": now - start, "steps": t}

    return _cold_and_warm(run)


def worker_naive(directory: Path, threshold: float, sample_size: int, budget: float, seed: int) -> dict:
    """Plain Python: csv parse + per-row normalisation of every file, then physician x row loops."""
    import polars as pl
    from rapidfuzz.distance import JaroWinkler

    from roster.screening.names import last_name_variants, load_nicknames, nickname_pairs, normalize_name

    jw = JaroWinkler.normalized_similarity
    # The engine's rules as they stand: match kinds per source; first names compatible (equal, same first
    # word, initial, nickname) for both name kinds; for a name-only match, middle names not in conflict.
    kinds = match_kinds()
    nick = {(a, b) for a, b in nickname_pairs(load_nicknames(NICKNAMES)).iter_rows()}
    roster = pl.read_parquet(directory / ROSTER_FILE).to_dicts()
    truth = json.loads((directory / TRUTH_FILE).read_text(encoding="utf-8"))
    setup_rss = _maxrss_mb()

    def parse_ymd(text: str) -> dt.date | None:
        text = text.strip()
        if text in ("", "00000000"):
            return None
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))

    def npi_of(text: str) -> str | None:
        text = text.strip()
        return text if len(text) == 10 and text.isdigit() and text != "0000000000" else None

    def first_word(name: str | None) -> str | None:
        normal = normalize_name(name)
        return normal.split(" ")[0] if normal else None

    def middles_conflict(a: str | None, b: str | None) -> bool:
        """Both present and neither equal nor one a lone initial of the other."""
        if not a or not b:
            return False
        return not (a == b or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)))

    # One tuple per list row: (source, fingerprint, npi, by name_dob, by name, first, token, variants,
    # whole variants, dob, state, middle's first word); an entity row is matched by NPI only.
    rows: list[tuple] = []

    def person(source, values, last, first, middle, entity, npi, dob, state):
        first_n = normalize_name(first)
        allowed = kinds.get(source, ("npi", "name_dob", "name"))
        return (
            source,
            SEP.join(values),
            npi,
            not entity and "name_dob" in allowed,
            not entity and "name" in allowed,
            first_n or None,
            first_n.split(" ")[0] if first_n else None,
            frozenset(last_name_variants(last)),
            tuple(last_name_variants(last, parts=False)),
            dob,
            state.strip().upper() or None,
            first_word(middle),
        )

    start = time.perf_counter()
    with (directory / LEIE_FILE).open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for v in reader:
            entity = bool(v[3].strip()) and not v[0].strip() and not v[1].strip()
            parse_ymd(v[14])
            rows.append(person("oig_leie", v, v[0], v[1], v[2], entity, npi_of(v[7]), parse_ymd(v[8]), v[11]))
    with zipfile.ZipFile(directory / SAM_FILE) as archive:
        (member,) = archive.infolist()
        with archive.open(member) as raw:
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            next(reader)
            for v in reader:
                dt.datetime.strptime(v[23], "%m/%d/%Y")
                rows.append(
                    person("sam", v, v[5], v[3], v[4], v[0].strip() != "Individual", npi_of(v[29]), None, v[12])
                )
    with (directory / PRECLUSION_FILE).open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for v in reader:
            entity = bool(v[4].strip()) and not v[1].strip() and not v[2].strip()
            rows.append(person("cms_preclusion", v, v[1], v[2], v[3], entity, npi_of(v[0]), None, ""))
    parse = time.perf_counter() - start

    # Sample: up to 100 planted physicians (so the cross-check sees hits) plus random ones.
    rng = random.Random(seed)
    planted = sorted({pid for case in truth for pid, _ in case["rows"]})
    by_id = {r["physician_id"]: r for r in roster}
    chosen = rng.sample(planted, min(100, len(planted), sample_size // 2))
    chosen_set = set(chosen)
    rest = [r["physician_id"] for r in roster if r["physician_id"] not in chosen_set]
    chosen += rng.sample(rest, min(len(rest), sample_size - len(chosen)))
    rng.shuffle(chosen)

    hits: list[tuple[str, str, str, str]] = []
    done = 0
    loop_start = time.perf_counter()
    for pid in chosen:
        p = by_id[pid]
        p_first = normalize_name(p["first_name"]) or None
        p_tok = p_first.split(" ")[0] if p_first else None
        p_variants = last_name_variants(p["last_name"], p["former_last_names"] or [])
        p_names = [f"{v} {p_first}" for v in p_variants] if p_first else []
        p_npi, p_dob, p_states = npi_of(p["npi"] or ""), p["dob"], set(p["states"] or [])
        p_mid = first_word(p["middle_name"])
        for source, fp, r_npi, by_dob, by_name, r_first, r_tok, r_variants, r_whole, r_dob, r_state, r_mid in rows:
            if r_npi is not None and r_npi == p_npi:
                hits.append((source, pid, fp, "npi"))
                continue
            if not (by_dob or by_name) or r_first is None or p_first is None:
                continue
            compatible = (
                r_first == p_first
                or r_tok == p_tok
                or (len(r_tok) == 1 and p_tok.startswith(r_tok))
                or (len(p_tok) == 1 and r_tok.startswith(p_tok))
                or (r_tok, p_tok) in nick
            )
            if not compatible:
                continue
            if r_dob is not None and p_dob is not None:
                if by_dob and r_dob == p_dob and not r_variants.isdisjoint(p_variants):
                    hits.append((source, pid, fp, "name_dob"))
                continue
            if not by_name or (r_state is not None and r_state not in p_states) or middles_conflict(r_mid, p_mid):
                continue
            best = 0.0
            for vr in r_whole:
                for name_p in p_names:
                    best = max(best, jw(f"{vr} {r_first}", name_p), jw(f"{vr} {p_first}", name_p))
            if best >= threshold:
                hits.append((source, pid, fp, "name"))
        done += 1
        if time.perf_counter() - loop_start > budget:
            break
    loop = time.perf_counter() - loop_start
    return {
        "parse": parse,
        "loop": loop,
        "physicians_done": done,
        "sample": chosen[:done],
        "rows": len(rows),
        "hits": hits,
        "setup_rss_mb": setup_rss,
    }


def run_worker(kind: str, directory: Path, *extra: str) -> dict:
    """Run one measurement in a fresh interpreter; its result JSON plus its own peak RSS (MB)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--dir", str(directory), *extra]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=REPO)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{kind} worker failed with status {proc.returncode}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


# --------------------------------------------------------------------------------------------
# evaluation and report
# --------------------------------------------------------------------------------------------


def fingerprint(record: str) -> str:
    return SEP.join(json.loads(record).values())


def evaluate(directory: Path, people: dict[str, Physician]) -> dict:
    import polars as pl

    from roster.screening.names import last_name_variants, load_nicknames, nickname_pairs, normalize_name

    hits = pl.read_parquet(directory / HITS_FILE)
    truth = json.loads((directory / TRUTH_FILE).read_text(encoding="utf-8"))
    found: dict[tuple[str, str, str], str] = {}
    rows = []
    for h in hits.select("source", "physician_id", "match_kind", "record", "matched_fields").iter_rows():
        key = (h[0], h[1], fingerprint(h[3]))
        found[key] = h[2]
        rows.append((key, h[2], json.loads(h[3]), h[4] or []))
    true_keys, near_keys, probe_keys, planted_ids = {}, {}, set(), set()
    per_case = []
    for case in truth:
        hit = kind_ok = 0
        for pid, fp in case["rows"]:
            planted_ids.add(pid)
            key = (case["source"], pid, fp)
            if case.get("probe"):
                probe_keys.add(key)
            elif case["expect"]:
                true_keys[key] = case["expect"]
            else:
                near_keys[key] = case["case"]
            if key in found:
                hit += 1
                kind_ok += found[key] == case["expect"]
        per_case.append((case, len(case["rows"]), hit, kind_ok))
    clean = len(people) - len(planted_ids)
    nicknames = {(a, b) for a, b in nickname_pairs(load_nicknames(NICKNAMES)).iter_rows()}

    def first_relation(listed: str, roster: str) -> str:
        """How the normalised first names relate, by rules.md §4's own variants (initial, nickname)."""
        if listed == roster:
            return "identical"
        a, b = listed.split(" ")[0], roster.split(" ")[0]
        if a == b or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)) or (a, b) in nicknames:
            return "initial/nickname/first word"
        return "NOT compatible"

    def middle_word(text: str | None) -> str:
        normal = normalize_name(text)
        return normal.split(" ")[0] if normal else ""

    # A hit outside the planted true matches is either a lead rules.md §4 itself requires (the same
    # normalised name as the physician, a last-name variant and the first name or its initial/nickname,
    # no conflicting middle name, no DOB to tell them apart, and the row's state, if any, a license
    # state): no engine that follows the rules can avoid it, and a person decides it, so it is counted
    # apart; or a false hit, everything the engine could have ruled out (fuzzy last names, NPI
    # coincidences, planted near misses).
    causes: Counter[str] = Counter()
    required: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    for key, kind, record, _fields in rows:
        if key in true_keys or key in probe_keys:
            continue
        source, pid, _ = key
        if key in near_keys:
            causes[f"near miss {near_keys[key]} ({kind})"] += 1
            continue
        p = people[pid]
        last_col, first_col = NAME_COLUMNS[source]
        r_last, r_first = normalize_name(record.get(last_col, "")), normalize_name(record.get(first_col, ""))
        variants = last_name_variants(p.last, p.former)
        same_last = bool(r_last) and (r_last in variants or r_last.replace(" ", "") in variants)
        first = first_relation(r_first, normalize_name(p.first)) if r_first else "NOT compatible"
        a, b = middle_word(record.get(MIDDLE_COLUMNS[source])), middle_word(p.middle)
        middle_conflict = bool(a and b) and not (
            a == b or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))
        )
        where = "no state on the row" if not record.get(STATE_COLUMNS[source]) else "row state = a license state"
        planted = " (on a planted physician)" if pid in planted_ids else ""
        if kind == "npi":
            cause, is_required = f"{source} npi: coincidental NPI", False
        elif kind == "name_dob":
            cause = (
                f"{source} name_dob: {'same last name' if same_last else 'last name?'}, first name {first}, same DOB"
            )
            is_required = same_last and first != "NOT compatible"
        else:
            last = "same last name" if same_last else "fuzzy last name"
            middle = ", middle names conflict" if middle_conflict else ""
            cause = f"{source} name: {last}, first name {first}{middle}, {where}"
            is_required = same_last and first != "NOT compatible" and not middle_conflict
        cause += planted
        (required if is_required else causes)[cause] += 1
        shown = f"{fold(p.first)} {fold(p.middle or '')} {fold(p.last)}".replace("  ", " ")
        shown += f" (formerly {fold(p.former[0])})" if p.former else ""
        listed = " ".join(
            v for v in (record.get(first_col), record.get(MIDDLE_COLUMNS[source]), record.get(last_col)) if v
        )
        example = f"{shown} ~ {listed}"
        if len(examples[cause]) < 3 and example not in examples[cause]:
            examples[cause].append(example)
    n_true = len(true_keys)
    recall_hits = sum(1 for k in true_keys if k in found)
    false_total = sum(causes.values())
    return {
        "required": required,
        "required_total": sum(required.values()),
        "per_case": per_case,
        "n_true": n_true,
        "recall_hits": recall_hits,
        "clean": clean,
        "false_total": false_total,
        "causes": causes,
        "examples": examples,
        "hits": hits.height,
        "by_source_kind": Counter((r[0][0], r[1]) for r in rows),
        "near_violations": sum(1 for k in near_keys if k in found),
        "n_near": len(near_keys),
        "found": found,
    }


def mb(n: float) -> str:
    return f"{n:,.0f} MB"


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r: tuple[str, ...]) -> str:
        cells = zip(r, widths, strict=True)
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(cells))

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--physicians", type=int, default=50_000)
    parser.add_argument("--leie", type=int, default=80_000)
    parser.add_argument("--sam", type=int, default=150_000)
    parser.add_argument("--preclusion", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="fresh-process repetitions of the full run and floor")
    parser.add_argument("--naive-physicians", type=int, default=400, help="naive loop sample size (at most)")
    parser.add_argument("--naive-seconds", type=float, default=40.0, help="naive loop time budget")
    parser.add_argument("--threshold", type=float, default=None, help="fuzzy name threshold (default: Settings)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files and print their directory")
    parser.add_argument("--worker", choices=("generate", "full", "floor", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--write-hits", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threshold is None:
        from roster.config import Settings

        args.threshold = Settings().fuzzy_name_threshold

    if args.worker:
        if args.worker == "generate":
            result = worker_generate(args, args.dir)
        elif args.worker == "full":
            result = worker_full(args.dir, args.threshold, args.write_hits)
        elif args.worker == "floor":
            result = worker_floor(args.dir)
        else:
            result = worker_naive(args.dir, args.threshold, args.naive_physicians, args.naive_seconds, args.seed)
        print(json.dumps(result, default=str))
        return

    directory = Path(tempfile.mkdtemp(prefix="roster-bench-screening-"))
    try:
        report(args, directory)
    finally:
        if args.keep:
            print(f"\nfiles kept in {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


def report(args: argparse.Namespace, directory: Path) -> None:
    # Everything heavy runs in subprocesses, this one stays small: on Linux a child's ru_maxrss starts
    # from the RSS of the process that spawned it (it is kept across fork and execve).
    sizes_args = [f"--{name}={getattr(args, name)}" for name in ("physicians", "leie", "sam", "preclusion", "seed")]
    meta = run_worker("generate", directory, *sizes_args, "--threshold", str(args.threshold))
    rows = meta["rows"]
    sizes = {name: (directory / name).stat().st_size for name in (LEIE_FILE, SAM_FILE, PRECLUSION_FILE)}
    truth = json.loads((directory / TRUTH_FILE).read_text(encoding="utf-8"))

    print(
        f"Screening benchmark: {args.physicians:,} physicians; LEIE {rows['oig_leie']:,} rows, SAM {rows['sam']:,} "
        f"rows, preclusion {rows['cms_preclusion']:,} rows (seed {args.seed}, fuzzy threshold {args.threshold})"
    )
    print(
        f"files: {LEIE_FILE} {sizes[LEIE_FILE] / 1e6:.1f} MB, {SAM_FILE} {sizes[SAM_FILE] / 1e6:.1f} MB "
        f"(CSV {meta['sam_csv_bytes'] / 1e6:.1f} MB), {PRECLUSION_FILE} {sizes[PRECLUSION_FILE] / 1e6:.1f} MB; "
        f"generated in {meta['seconds']:.1f} s"
    )
    surname_p2, given_p2 = meta["surname_p2"], meta["given_p2"]
    print(
        f"names: {meta['surnames']:,} surnames x {meta['given']:,} first names, Zipf-like; two random people share "
        f"a last name with p={surname_p2:.2e}, a first name p={given_p2:.2e}, both p={surname_p2 * given_p2:.1e}"
    )
    planted_true = sum(len(c["rows"]) for c in truth if c["expect"] and not c["probe"])
    planted_near = sum(len(c["rows"]) for c in truth if not c["expect"])
    probes = sum(len(c["rows"]) for c in truth if c["probe"])
    print(
        f"planted: {planted_true} true matches, {planted_near} near misses, {probes} probes (reported only); "
        f"cpu cores: {os.cpu_count()}"
    )
    print()

    threshold = str(args.threshold)
    fulls = [run_worker("full", directory, "--threshold", threshold, *(["--write-hits"] if i == 0 else []))
             for i in range(args.repeat)]  # fmt: skip
    floors = [run_worker("floor", directory) for _ in range(args.repeat)]
    naive = run_worker(
        "naive", directory, "--threshold", threshold, "--naive-physicians", str(args.naive_physicians),
        "--naive-seconds", str(args.naive_seconds), "--seed", str(args.seed),
    )  # fmt: skip
    people = load_physicians(directory)
    ev = evaluate(directory, people)

    full_wall = statistics.median(r["warm"]["wall"] for r in fulls)
    full_cold = statistics.median(r["cold"]["wall"] for r in fulls)
    floor_wall = statistics.median(r["warm"]["wall"] for r in floors)
    floor_cold = statistics.median(r["cold"]["wall"] for r in floors)
    full_rss = max(r["cold_rss_mb"] for r in fulls)
    done = naive["physicians_done"]
    naive_total = naive["parse"] + naive["loop"] * args.physicians / done
    recall = ev["recall_hits"] / ev["n_true"] if ev["n_true"] else 1.0
    per_1000 = ev["false_total"] / (ev["clean"] / 1000)

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    recall_text = f"{recall:.1%} ({ev['recall_hits']}/{ev['n_true']})"
    false_text = f"{per_1000:.2f} ({ev['false_total']:,} / {ev['clean']:,})"
    summary = [
        (
            f"full run wall time (warm, median of {args.repeat})",
            f"{full_wall:.2f} s",
            "<= 2 s",
            verdict(full_wall <= 2),
        ),
        (
            "full run / parse floor (warm / warm)",
            f"{full_wall / floor_wall:.1f}x",
            "<= 3x",
            verdict(full_wall <= 3 * floor_wall),
        ),
        (
            "  full run and ratio, cold (first run in a fresh process)",
            f"{full_cold:.2f} s, {full_cold / floor_cold:.1f}x",
            "",
            "",
        ),
        (
            "  service-shaped run: read_parquet of the parsed snapshots + screen (warm)",
            f"{statistics.median(r['snapshot_run']['wall'] for r in fulls):.2f} s",
            "",
            "",
        ),
        (
            "naive (EXTRAPOLATED) / full run",
            f"{naive_total / full_wall:,.0f}x",
            ">= 20x",
            verdict(naive_total >= 20 * full_wall),
        ),
        ("recall on planted true matches", recall_text, ">= 99%", verdict(recall >= 0.99)),
        ("false hits per 1,000 clean physicians", false_text, "<= 1", verdict(per_1000 <= 1)),
        (
            "  leads rules.md §4 requires (same normalised name, no DOB) per 1,000 clean, not judged",
            f"{ev['required_total'] / (ev['clean'] / 1000):.2f} ({ev['required_total']:,})",
            "",
            "",
        ),
        (
            "  all hits outside the planted true matches per 1,000 clean (both of the above)",
            f"{(ev['false_total'] + ev['required_total']) / (ev['clean'] / 1000):.2f}",
            "",
            "",
        ),
        (f"peak RSS of one full run (max of {args.repeat})", mb(full_rss), "-", ""),
    ]
    print(table(summary, ("measure", "measured", "target", "")))

    print(f"\nTimes (s): median over {args.repeat} fresh processes of each step, warm run and (cold run)")

    def step(results: list[dict], name: str) -> tuple[str, str]:
        warm = statistics.median(r["warm"]["steps"][name] for r in results)
        cold = statistics.median(r["cold"]["steps"][name] for r in results)
        return f"{warm:.3f}", f"({cold:.3f})"

    def runs(results: list[dict]) -> str:
        return ", ".join(f"{r['warm']['wall']:.2f} ({r['cold']['wall']:.2f})" for r in results)

    step_rows = [(f"full: {name}", *step(fulls, name)) for name in fulls[0]["warm"]["steps"]]
    step_rows += [(f"full: total; runs {runs(fulls)}", f"{full_wall:.3f}", f"({full_cold:.3f})")]
    step_rows += [
        (f"service-shaped: {name}", f"{statistics.median(r['snapshot_run']['steps'][name] for r in fulls):.3f}", "")
        for name in fulls[0]["snapshot_run"]["steps"]
    ]
    step_rows += [(f"floor: pl.read_csv {name}", *step(floors, name)) for name in floors[0]["warm"]["steps"]]
    step_rows += [(f"floor: total; runs {runs(floors)}", f"{floor_wall:.3f}", f"({floor_cold:.3f})")]
    step_rows += [
        (f"naive: csv parse + normalise all {naive['rows']:,} rows (measured)", f"{naive['parse']:.2f}", ""),
        (f"naive: loop over {done} physicians x all rows (measured)", f"{naive['loop']:.2f}", ""),
        (
            f"naive: loop for {args.physicians:,} physicians (EXTRAPOLATED x{args.physicians / done:,.0f})",
            f"{naive['loop'] * args.physicians / done:,.0f}",
            "",
        ),
        ("naive: total (EXTRAPOLATED)", f"{naive_total:,.0f}", ""),
    ]
    print(table(step_rows, ("step", "warm", "(cold)")))
    floor_rss = max(r["cold_rss_mb"] for r in floors)
    print(
        f"peak RSS (ru_maxrss after the cold run): full run {mb(full_rss)}, of which {mb(fulls[0]['setup_rss_mb'])} "
        f"before timing (interpreter, polars, roster frame); floor {mb(floor_rss)}; process peak over both runs "
        f"{mb(max(r['peak_rss_mb'] for r in fulls))}; polars threads {fulls[0]['threads']}"
    )
    kinds = fulls[0]["kinds"]
    if kinds:
        print(
            "match kinds per source (service MATCH_KINDS_BY_SOURCE): "
            + "; ".join(f"{s} {', '.join(k)}" for s, k in kinds.items())
        )

    print("\nPlanted cases")
    case_rows = []
    for case, n, hit, kind_ok in ev["per_case"]:
        if case["expect"]:
            result = f"found {hit}/{n}" + ("" if kind_ok == hit else f" ({hit - kind_ok} as another kind)")
        else:
            result = f"hit {hit}/{n}" if hit else f"none of {n}"
        case_rows.append((case["case"], case["source"], case["expect"] or "no hit", result, case["what"]))
    print(table(case_rows, ("case", "source", "expected", "result", "row")))

    kinds = ", ".join(f"{s}/{k} {n:,}" for (s, k), n in sorted(ev["by_source_kind"].items()))
    print(f"\nHits: {ev['hits']:,} in all; by source and kind: {kinds}")
    per = ev["clean"] / 1000
    for title, counter in (
        (f"False hits by cause ({ev['false_total']:,}; clean physicians {ev['clean']:,})", ev["causes"]),
        (
            f"Leads rules.md §4 requires, by cause ({ev['required_total']:,}): the same normalised name with no DOB "
            "to tell the two apart; a person decides them",
            ev["required"],
        ),
    ):
        print(f"{title}:")
        cause_rows = [
            (cause, f"{n:,}", f"{n / per:.2f}", "; ".join(ev["examples"].get(cause, [])))
            for cause, n in counter.most_common()
        ]
        print(
            table(cause_rows, ("cause", "hits", "per 1,000", "examples (physician ~ row)")) if cause_rows else "  none"
        )
        print()

    # naive vs engine on the naive sample, per (source, physician, row)
    sample = set(naive["sample"])
    engine = {k for k in ev["found"] if k[1] in sample}
    plain = {(s, pid, fp) for s, pid, fp, _ in naive["hits"]}
    only_engine, only_naive = engine - plain, plain - engine
    print(
        f"\nNaive vs engine on the {done} sampled physicians: {len(engine & plain)} hits in both, "
        f"{len(only_engine)} engine only, {len(only_naive)} naive only"
    )
    for label, keys in (("engine only", only_engine), ("naive only", only_naive)):
        for s, pid, fp in sorted(keys)[:5]:
            p = people[pid]
            values = fp.split(SEP)
            header = {"oig_leie": LEIE_HEADER, "sam": SAM_HEADER, "cms_preclusion": PRECLUSION_HEADER}[s]
            rec = dict(zip(header, values, strict=False))
            last_col, first_col = NAME_COLUMNS[s]
            state = rec.get("STATE") or rec.get("State / Province") or "-"
            print(
                f"  {label}: {s} {fold(p.first)} {fold(p.last)} {p.states} ~ "
                f"{rec.get(first_col)} {rec.get(last_col)} state={state}"
            )


if __name__ == "__main__":
    main()
