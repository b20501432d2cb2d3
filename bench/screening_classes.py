"""Screening recall per variation class and false hits, on a labeled set built independently of the matcher.

Run from the repository root with the project venv (figures, not pass/fail; exit 0)::

    python bench/screening_classes.py [--physicians 3000] [--per-class 40] [--negatives 200] [--unrelated 4000]
                                      [--seed 11] [--markdown]

It builds, as a compliance auditor would, a roster from several name cultures (bench/screening_names.py:
Anglo, Hispanic with accents and double surnames, Vietnamese, Indian, East Asian; middle names and
initials, suffixes, maiden names kept as former names) and an OIG LEIE ``UPDATED.csv`` in the published
18-column quoted layout (``0000000000`` NPI and ``00000000`` date placeholders, names cut at the field
widths). The file holds, for ``--per-class`` roster physicians per class, one row of that physician in
one kind of variation (most without an NPI, as most LEIE rows are); two classes of hard negatives that
must raise no pending hit (the physician's exact name with another DOB; exact name and DOB with another
valid NPI, which is another person since an individual has one NPI); and ``--unrelated`` rows of other
people. Each row is tagged in its ADDRESS column, which the matcher never reads, so every hit is scored
against the truth.

The file is parsed by the product's reader and screened by the product's matcher with the service's match
kinds and default fuzzy threshold, exactly as a screening run does. Printed: recall per class (a pending
hit on the planted physician), pending hits on each hard-negative class (target 0), and false pending
hits per 1,000 clean physicians (physicians with nothing planted; target <= 1). ``--markdown`` prints the
table as the README carries it.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from options import parser_for  # bench/options.py
from screening_names import (
    PLANTED_NICKNAMES,
    TYPO_KINDS,
    NameMaker,
    Person,
    dob_typo,
    fold,
    has_accents,
    other_dob,
    typo,
    ymd,
)

REPO = Path(__file__).resolve().parent.parent
LEIE_HEADER = (
    "LASTNAME,FIRSTNAME,MIDNAME,BUSNAME,GENERAL,SPECIALTY,UPIN,NPI,DOB,ADDRESS,CITY,STATE,ZIP,EXCLTYPE,"
    "EXCLDATE,REINDATE,WAIVERDATE,WVRSTATE"
).split(",")  # reference.md §1.2, written here, not imported from the reader
WIDTHS = {"LASTNAME": 20, "FIRSTNAME": 15, "MIDNAME": 15}
STATES = ["CA", "TX", "FL", "NY", "PA", "IL", "OH", "GA", "NC", "MI", "NJ", "VA", "WA", "AZ", "MA", "TN"]

#: The variation classes, in the order printed, with what each plants (the audit's 17 and the bench's own).
CLASSES: dict[str, str] = {
    "exact": "the roster's name, upper-case ASCII, same DOB",
    "diacritics": "an accented roster name (José Muñoz) printed without accents",
    "former_name": "the maiden/former last name the roster keeps",
    "hyphen_part": "one part of a hyphenated surname, or both in the other order",
    "suffix": "a suffix inside the last name (SMITH JR)",
    "truncated": "a long name cut at the LEIE field width (20/15)",
    "nickname": "a nickname or diminutive (BOB, LUPE, PACO, VENKAT ...)",
    "first_initial": "the first name as an initial",
    "middle_as_first": "the middle name printed as the first name",
    "last_typo": "one keystroke wrong in the last name, same DOB",
    "first_typo": "one keystroke wrong in a first name of 4+ letters, same DOB",
    "swapped": "first and last name swapped, same DOB",
    "dob_typo": "the DOB with one digit wrong",
    "dob_transposed": "the DOB with day and month swapped",
    "dob_missing": "no DOB on the row, a license state of the physician",
    "dob_missing_no_state": "no DOB and no state on the row",
    "npi": "the physician's NPI, the name as printed by another system",
}
NEGATIVES: dict[str, str] = {
    "same_name_other_dob": "the exact name, a clearly different DOB",
    "same_name_dob_other_npi": "the exact name and DOB, another valid NPI",
}


def luhn_npi(rng: random.Random) -> str:
    """A valid NPI: 9 digits and the Luhn check digit over the 80840 prefix (reference.md §3)."""
    first9 = str(rng.randrange(100_000_000, 300_000_000))
    total = 24  # the constant for the 80840 prefix
    for i, ch in enumerate(reversed(first9)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return first9 + str((10 - total % 10) % 10)


@dataclass
class Doctor:
    pid: str
    person: Person
    npi: str
    dob: dt.date
    states: list[str]


@dataclass
class Row:
    tag: str
    label: str  # a class, a negative, or "unrelated"
    pid: str | None
    values: dict[str, str]


class LabeledSet:
    def __init__(self, args) -> None:
        self.rng = random.Random(args.seed)
        self.maker = NameMaker()
        self.doctors: list[Doctor] = []
        rng = self.rng
        for i in range(args.physicians):
            dob = dt.date(1945, 1, 1) + dt.timedelta(days=rng.randrange(50 * 365))
            states = rng.sample(STATES, rng.choice((1, 1, 2, 3)))
            self.doctors.append(Doctor(f"p{i:05d}", self.maker.person(rng), luhn_npi(rng), dob, states))
        self.rows: list[Row] = []
        self.unused = list(range(len(self.doctors)))
        rng.shuffle(self.unused)
        self.per_class = args.per_class

    # -- picking physicians ----------------------------------------------------------------------

    def take(self, fits) -> Doctor:
        """A physician nothing was planted for yet that ``fits`` (each is planted at most once)."""
        for n, index in enumerate(self.unused):
            doctor = self.doctors[index]
            if fits(doctor):
                del self.unused[n]
                return doctor
        raise SystemExit("not enough physicians for the classes: raise --physicians")

    def row(self, label: str, doctor: Doctor | None, **values: str) -> None:
        tag = f"TAG-{len(self.rows):06d}"
        full = dict.fromkeys(LEIE_HEADER, "")
        full.update(NPI="0000000000", REINDATE="00000000", WAIVERDATE="00000000", GENERAL="IND- LIC HC SERV PRO")
        full.update(EXCLTYPE="1128b4", EXCLDATE="20240115", CITY="SPRINGFIELD", ZIP="00000")
        full.update(values)
        full["ADDRESS"] = tag
        for column, width in WIDTHS.items():
            full[column] = full[column][:width]
        self.rows.append(Row(tag, label, doctor.pid if doctor else None, full))

    def person_row(self, label: str, d: Doctor, *, last: str | None = None, first: str | None = None,
                   middle: str | None = None, dob: str | None = None, state: str | None = None,
                   npi: str = "0000000000") -> None:  # fmt: skip
        p = d.person
        self.row(
            label,
            d,
            LASTNAME=fold(p.last) if last is None else last,
            FIRSTNAME=fold(p.first) if first is None else first,
            MIDNAME=fold(p.middle or "") if middle is None else middle,
            DOB=ymd(d.dob) if dob is None else dob,
            STATE=self.rng.choice(d.states) if state is None else state,
            NPI=npi,
            SPECIALTY="INTERNAL MEDICINE",
        )

    # -- the classes ---------------------------------------------------------------------------

    def plant(self) -> None:
        rng = self.rng
        nick = iter(PLANTED_NICKNAMES * (self.per_class // len(PLANTED_NICKNAMES) + 1))
        for label in CLASSES:
            for _ in range(self.per_class):
                getattr(self, f"_{label}")(rng, label, nick)
        for label in NEGATIVES:
            for _ in range(self.negatives):
                d = self.take(lambda d: True)
                if label == "same_name_other_dob":
                    self.person_row(label, d, dob=ymd(other_dob(rng, d.dob)))
                else:
                    other = luhn_npi(rng)
                    self.person_row(label, d, npi=other if other != d.npi else luhn_npi(rng))

    def _exact(self, rng, label, _):
        self.person_row(label, self.take(lambda d: True))

    def _diacritics(self, rng, label, _):
        d = self.take(lambda d: has_accents(d.person.canon_last) or has_accents(d.person.canon_first))
        d.person.first, d.person.last = d.person.canon_first, d.person.canon_last  # the roster keeps the accents
        self.person_row(label, d)

    def _former_name(self, rng, label, _):
        d = self.take(lambda d: bool(d.person.former))
        self.person_row(label, d, last=fold(d.person.former[0]))

    def _hyphen_part(self, rng, label, _):
        d = self.take(lambda d: "-" in d.person.last)
        parts = fold(d.person.last).split("-")
        pick = rng.choice((parts[0], parts[-1], " ".join(reversed(parts)), "-".join(reversed(parts))))
        self.person_row(label, d, last=pick)

    def _suffix(self, rng, label, _):
        d = self.take(lambda d: True)
        d.person.suffix = d.person.suffix or rng.choice(("Jr", "III", "Sr"))
        self.person_row(label, d, last=f"{fold(d.person.last)} {d.person.suffix.upper()}")

    def _truncated(self, rng, label, _):
        d = self.take(lambda d: d.person.culture in ("indian", "hispanic"))
        culture = self.maker.by_name[d.person.culture]
        last = d.person.last
        while len(fold(last)) <= WIDTHS["LASTNAME"]:
            extra = culture.surnames.draw(rng)
            if " " not in extra and extra not in last:
                last = f"{last}-{extra}" if rng.random() < 0.5 else f"{last}{fold(extra).lower()}"
        d.person.last = last
        self.person_row(label, d)  # the row writer cuts it at the field width

    def _nickname(self, rng, label, nick):
        formal, short = next(nick)
        d = self.take(lambda d: True)
        d.person.first = formal.title()
        self.person_row(label, d, first=short)

    def _first_initial(self, rng, label, _):
        d = self.take(lambda d: len(fold(d.person.first)) > 1)
        self.person_row(label, d, first=fold(d.person.first)[0], middle="")

    def _middle_as_first(self, rng, label, _):
        d = self.take(lambda d: d.person.middle is not None and len(d.person.middle) > 1)
        self.person_row(label, d, first=fold(d.person.middle), middle="")

    def _last_typo(self, rng, label, _):
        d = self.take(lambda d: len(fold(d.person.last)) >= 4 and fold(d.person.last).isalpha())
        wrong = None
        while wrong is None:
            wrong = typo(rng, fold(d.person.last), rng.choice(TYPO_KINDS))
        self.person_row(label, d, last=wrong)

    def _first_typo(self, rng, label, _):
        d = self.take(lambda d: len(fold(d.person.first)) >= 4 and fold(d.person.first).isalpha())
        wrong = None
        while wrong is None:
            wrong = typo(rng, fold(d.person.first), rng.choice(TYPO_KINDS))
        self.person_row(label, d, first=wrong)

    def _swapped(self, rng, label, _):
        d = self.take(lambda d: True)
        self.person_row(label, d, last=fold(d.person.first), first=fold(d.person.last))

    def _dob_typo(self, rng, label, _):
        d = self.take(lambda d: True)
        self.person_row(label, d, dob=ymd(dob_typo(rng, d.dob)))

    def _dob_transposed(self, rng, label, _):
        d = self.take(lambda d: d.dob.day <= 12 and d.dob.day != d.dob.month)
        self.person_row(label, d, dob=ymd(d.dob.replace(month=d.dob.day, day=d.dob.month)))

    def _dob_missing(self, rng, label, _):
        self.person_row(label, self.take(lambda d: True), dob="00000000")

    def _dob_missing_no_state(self, rng, label, _):
        self.person_row(label, self.take(lambda d: True), dob="00000000", state="")

    def _npi(self, rng, label, _):
        d = self.take(lambda d: True)
        other = self.maker.listed(rng)
        self.person_row(label, d, last=other[0], first=other[1], middle="", dob="00000000", npi=d.npi)

    def unrelated(self, n: int) -> None:
        rng = self.rng
        for _ in range(n):
            last, first, middle = self.maker.listed(rng)
            dob = dt.date(1935, 1, 1) + dt.timedelta(days=rng.randrange(60 * 365))
            self.row(
                "unrelated",
                None,
                LASTNAME=last,
                FIRSTNAME=first,
                MIDNAME=middle,
                DOB=ymd(dob) if rng.random() < 0.85 else "00000000",
                STATE=rng.choice(STATES),
                NPI=luhn_npi(rng) if rng.random() < 0.3 else "0000000000",
            )

    # -- files ---------------------------------------------------------------------------------

    def roster(self):
        import polars as pl

        from roster.screening.matching import ROSTER_SCHEMA

        return pl.DataFrame(
            [
                {
                    "physician_id": d.pid,
                    "npi": d.npi,
                    "first_name": d.person.first,
                    "middle_name": d.person.middle,
                    "last_name": d.person.last,
                    "former_last_names": d.person.former,
                    "dob": d.dob,
                    "states": d.states,
                }
                for d in self.doctors
            ],
            schema=ROSTER_SCHEMA,
        )

    def leie_bytes(self) -> bytes:
        def quoted(values: list[str]) -> str:
            return ",".join('"' + v.replace('"', '""') + '"' for v in values)

        rows = list(self.rows)
        self.rng.shuffle(rows)
        lines = [quoted(LEIE_HEADER), *(quoted([r.values[h] for h in LEIE_HEADER]) for r in rows)]
        return ("\n".join(lines) + "\n").encode("utf-8")


def _words(name: str) -> set[str]:
    folded = fold(name).replace("-", " ")
    return {folded, folded.replace(" ", ""), *folded.split()}


def required_lead(row: dict[str, str], doctor: Doctor) -> bool:
    """A row of another person that rules.md §4 itself makes a lead: no DOB to tell them apart, the
    physician's last name (or a part of it, or a former one) and first name (its first word or initial),
    and a license state or none. Only a person can rule it out, so it is counted apart from false hits."""
    if row["DOB"] != "00000000" or (row["STATE"] and row["STATE"] not in doctor.states):
        return False
    lasts = set().union(*(_words(n) for n in [doctor.person.last, *doctor.person.former]))
    first, mine = fold(row["FIRSTNAME"]).split(), fold(doctor.person.first).split()
    same_first = bool(first and mine) and (first[0] == mine[0] or (len(first[0]) == 1 and mine[0][0] == first[0]))
    return fold(row["LASTNAME"]).replace("-", " ") in lasts and same_first


def party(values: dict[str, str]) -> tuple[str, ...]:
    """What identifies a listed party (the fields of the LEIE reader's record key, reference.md §1.2)."""
    return tuple(values[c].strip() for c in ("LASTNAME", "FIRSTNAME", "MIDNAME", "BUSNAME", "DOB", "NPI"))


def measure(args) -> dict:
    import polars as pl

    from roster.config import Settings
    from roster.screening.names import load_nicknames
    from roster.screening.service import screen_lists
    from roster.sources.leie import read_leie

    labeled = LabeledSet(args)
    labeled.negatives = args.negatives
    labeled.plant()
    labeled.unrelated(args.unrelated)
    planted = {r.pid for r in labeled.rows if r.pid}
    roster = labeled.roster()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "UPDATED.csv"
        path.write_bytes(labeled.leie_bytes())
        started = time.perf_counter()
        listing = read_leie(path)
        nicknames = load_nicknames(REPO / "fixtures" / "nicknames.csv")
        hits = screen_lists(roster, {"oig_leie": listing}, nicknames, Settings().fuzzy_name_threshold)
        elapsed = time.perf_counter() - started
    by_tag = {r.tag: r for r in labeled.rows}
    # The publisher repeats a person's row (LI WEI, no DOB, twice): a hit on one stands for every row
    # that is the same party, and the matcher reports it once.
    same_party: dict[tuple[str, ...], list[Row]] = defaultdict(list)
    for r in labeled.rows:
        same_party[party(r.values)].append(r)
    found: dict[str, set[str]] = defaultdict(set)  # tag -> physicians with a pending hit on that row
    suppressed: Counter[str] = Counter()
    false_hits: list[tuple[str, str, str]] = []
    leads: list[tuple[str, str, str]] = []
    doctors = {d.pid: d for d in labeled.doctors}
    for hit in hits.select("physician_id", "record", "match_kind", "suppressed").iter_rows(named=True):
        row = by_tag[json.loads(hit["record"])["ADDRESS"]]
        mine = [r for r in same_party[party(row.values)] if r.pid == hit["physician_id"]]
        row = mine[0] if mine else row
        if hit["suppressed"] is not None:
            suppressed[row.label] += 1
            continue
        if mine:
            for r in mine:
                found[r.tag].add(hit["physician_id"])
        elif required_lead(row.values, doctors[hit["physician_id"]]):
            leads.append((row.label, hit["match_kind"], hit["physician_id"]))
        else:
            d, v = doctors[hit["physician_id"]], row.values
            example = (
                f"{v['LASTNAME']} {v['FIRSTNAME']} {v['MIDNAME']} {v['DOB']} {v['STATE'] or '-'} ~ "
                f"{d.person.last} {d.person.first} {d.person.middle or ''} {d.dob:%Y%m%d} {'/'.join(d.states)}"
            )
            false_hits.append((row.label, hit["match_kind"], " ".join(example.split())))
    per_class = {}
    for label in [*CLASSES, *NEGATIVES]:
        rows = [r for r in labeled.rows if r.label == label]
        per_class[label] = {"rows": len(rows), "hit": sum(1 for r in rows if r.pid in found[r.tag])}
    clean = len(labeled.doctors) - len(planted)
    return {
        "per_class": per_class,
        "false_hits": false_hits,
        "leads": leads,
        "suppressed": dict(suppressed),
        "clean": clean,
        "rows": len(labeled.rows),
        "physicians": len(labeled.doctors),
        "seconds": elapsed,
        "polars": pl.__version__,
    }


def report(args, figures: dict) -> None:
    per = figures["per_class"]
    true_rows = sum(per[c]["rows"] for c in CLASSES)
    true_hit = sum(per[c]["hit"] for c in CLASSES)
    false_per_1000 = 1000 * len(figures["false_hits"]) / max(figures["clean"], 1)
    print(
        f"labeled set: {figures['physicians']} physicians ({figures['clean']} clean), LEIE file of "
        f"{figures['rows']} rows; read + screened in {figures['seconds']:.2f} s (seed {args.seed})"
    )
    if args.markdown:
        print("\n| variation class | planted rows | recall |\n|---|---|---|")
        for label, what in CLASSES.items():
            r = per[label]
            print(f"| {label}: {what} | {r['rows']} | {r['hit'] / max(r['rows'], 1):.1%} |")
        print(f"| **all planted rows** | {true_rows} | **{true_hit / max(true_rows, 1):.1%}** |")
        print("\n| hard negative | rows | pending hits (target 0) | held back as npi_conflict |\n|---|---|---|---|")
        for label, what in NEGATIVES.items():
            r = per[label]
            print(f"| {label}: {what} | {r['rows']} | {r['hit']} | {figures['suppressed'].get(label, 0)} |")
        print(f"\nFalse pending hits per 1,000 clean physicians: **{false_per_1000:.2f}** (target <= 1); leads the")
        print(
            f"rules require (no DOB on the row, the physician's name): {len(figures['leads'])} per {figures['clean']}."
        )
        return
    print(f"\n{'class':<24}{'rows':>6}{'recall':>9}  what is planted")
    for label, what in CLASSES.items():
        r = per[label]
        print(f"{label:<24}{r['rows']:>6}{r['hit'] / max(r['rows'], 1):>9.1%}  {what}")
    print(f"{'all planted rows':<24}{true_rows:>6}{true_hit / max(true_rows, 1):>9.1%}  target >= 99% per class")
    print(f"\n{'hard negative':<24}{'rows':>6}{'pending':>9}{'held back':>11}  (target: 0 pending)")
    for label, what in NEGATIVES.items():
        r = per[label]
        print(f"{label:<24}{r['rows']:>6}{r['hit']:>9}{figures['suppressed'].get(label, 0):>11}  {what}")
    print(
        f"\nfalse pending hits: {len(figures['false_hits'])} = {false_per_1000:.2f} per 1,000 clean physicians "
        "(target <= 1)"
    )
    causes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for label, kind, example in figures["false_hits"]:
        causes[label, kind].append(example)
    for (label, kind), examples in sorted(causes.items()):
        print(f"  {len(examples):>4} on {label} rows, as {kind}: {'; '.join(examples[:3])}")
    print(
        f"leads rules.md requires (no DOB on the row, the physician's name): {len(figures['leads'])} = "
        f"{1000 * len(figures['leads']) / max(figures['clean'], 1):.2f} per 1,000 clean physicians (not judged)"
    )


def main() -> int:
    parser = parser_for(__doc__)
    parser.add_argument("--physicians", type=int, default=3000, help="roster size")
    parser.add_argument("--per-class", type=int, default=40, help="planted true rows per variation class")
    parser.add_argument("--negatives", type=int, default=200, help="rows per hard-negative class")
    parser.add_argument("--unrelated", type=int, default=4000, help="rows of other people")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--markdown", action="store_true", help="print the tables as the README carries them")
    args = parser.parse_args()
    needed = args.per_class * len(CLASSES) + args.negatives * len(NEGATIVES)
    if needed > args.physicians // 2:
        parser.error(f"--physicians must be at least twice the planted physicians ({needed})")
    report(args, measure(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
