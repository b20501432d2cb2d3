"""Screen the whole roster against one exclusion/preclusion list at once (rules.md §4).

Pure polars, no I/O. Three kinds of match, strongest first:

* ``npi``: the list row's NPI equals the physician's (any row, entity rows included); score 1.0.
* ``name_dob``: an individual's row whose DOB equals the physician's and whose normalised last name
  equals one of the physician's last-name variants (whole name, hyphen/space parts, former names),
  with an equal first name (0.98) or an initial / first-word / nickname-compatible one (0.95).
* ``name``: an individual's row where the row or the physician has no DOB, blocked on the first three
  letters of a last-name variant and, when the row has a state, on that state being one of the
  physician's license states; the first names must be compatible as for ``name_dob`` (equal, same
  first word, initial, nickname) and the middle names must not conflict; scored by Jaro-Winkler on
  "LAST FIRST" (also with the physician's first name in place of a compatible one) and kept at
  ``fuzzy_threshold`` or above. Only the last name is matched fuzzily: with no DOB to confirm it, a
  first name that is merely similar (MICHAEL ~ MICHELLE, DONALD ~ RONALD) is another person far more
  often than a typo. Likewise a list surname spelled exactly as one the roster carries (JOHNSTON) is
  taken as spelled, not as a typo for a similar one (JOHNSON): the known-value rule of record linkage.
  The price: a typo that happens to produce another roster surname is found only with a DOB or NPI.

A row whose DOB differs from the physician's never matches by name, and entity rows never match by
name. The result has one row per (physician, list record): the strongest kind, then the best score.
Every join is on blocking keys: for the ``name`` kind, the first three letters of the last name and
the compatible first names themselves (each row's first word, its nicknames, its initial), so that
the join yields only pairs the rules allow, some ten thousand for a SAM-sized list; those are
scored, vectorised by ``rapidfuzz.process.cpdist`` (which needs numpy). Row order of either input
does not change the result: ties are broken by a total order and the output is sorted explicitly.

A run screens one roster against several lists: :class:`PreparedRoster` does the roster's share of the
work once (names, variants, states, name codes) and :func:`screen_prepared` screens it against one list.
A list's published record is hashed and serialised only for the rows that become hits.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cached_property

import polars as pl

from roster.screening import evidence as ev
from roster.screening.names import first_token, last_name_variant_rows, nickname_pairs, normalized
from roster.sources.records import LIST_SCHEMA, RECORD, record_hash, record_json

#: The matcher's roster input; ``states`` are the physician's license states.
ROSTER_SCHEMA: dict[str, pl.DataType] = {
    "physician_id": pl.String(),
    "npi": pl.String(),
    "first_name": pl.String(),
    "middle_name": pl.String(),
    "last_name": pl.String(),
    "former_last_names": pl.List(pl.String()),
    "dob": pl.Date(),
    "states": pl.List(pl.String()),
}

#: One row per (physician, list record) that matched.
HIT_SCHEMA: dict[str, pl.DataType] = {
    "physician_id": pl.String(),
    "record_key": pl.String(),
    #: SHA-256 of the published row (:func:`roster.sources.records.record_hash`).
    "record_hash": pl.String(),
    #: ``npi`` | ``name_dob`` | ``name``.
    "match_kind": pl.String(),
    "score": pl.Float64(),
    #: Which of npi, last_name, first_name, dob, state agree, in that order.
    "matched_fields": pl.List(pl.String()),
    #: The list row as published (JSON).
    "record": pl.String(),
    #: How each field compared (JSON object: npi, dob, last_name, first_name, middle_name, state).
    "evidence": pl.String(),
    #: Null for a hit; else why the pair is not one (``npi_conflict``): listed, counted, not raised.
    "suppressed": pl.String(),
}

MATCH_KINDS: tuple[str, ...] = ("npi", "name_dob", "name")
NAME_DOB_EXACT_SCORE = 0.98
NAME_DOB_VARIANT_SCORE = 0.95

_PAIR_SCHEMA: dict[str, pl.DataType] = {"p": pl.UInt32(), "r": pl.UInt32(), "kind": pl.UInt8(), "score": pl.Float64()}


def empty_hits() -> pl.DataFrame:
    return pl.DataFrame(schema=HIT_SCHEMA)


def screen(
    roster: pl.DataFrame,
    listing: pl.DataFrame,
    *,
    nicknames: pl.DataFrame,
    fuzzy_threshold: float = 0.93,
    kinds: Collection[str] = MATCH_KINDS,
) -> pl.DataFrame:
    """Every physician in ``roster`` (ROSTER_SCHEMA) that matches a row of ``listing`` (a list frame:
    LIST_SCHEMA and the published ``record``).

    ``nicknames`` is the ``name``/``nickname`` frame from :func:`roster.screening.names.load_nicknames`.
    ``kinds`` limits the match kinds tried (e.g. ``("npi",)`` for a list keyed by NPI only).
    Returns HIT_SCHEMA sorted by physician_id, record_key. To screen one roster against several
    lists, prepare it once with :class:`PreparedRoster` and call :func:`screen_prepared`.
    """
    return screen_prepared(PreparedRoster(roster, nicknames), listing, fuzzy_threshold=fuzzy_threshold, kinds=kinds)


def screen_prepared(
    roster: PreparedRoster | Callable[[], PreparedRoster],
    listing: pl.DataFrame,
    *,
    fuzzy_threshold: float = 0.93,
    kinds: Collection[str] = MATCH_KINDS,
) -> pl.DataFrame:
    """:func:`screen` with the roster's share of the work already done, or under way: ``roster`` may be a
    function returning it (a future's ``result``), called once the list's own share is done, so that a
    caller can prepare the roster while the lists' names are normalised."""
    unknown = set(kinds) - set(MATCH_KINDS)
    if unknown:
        raise ValueError(f"unknown match kinds {sorted(unknown)}; known: {', '.join(MATCH_KINDS)}")
    if listing.is_empty() or not kinds:
        return empty_hits()
    frame = _indexed_listing(listing)
    by_name = bool({"name_dob", "name"} & set(kinds))
    names = _listing_names(frame) if by_name else None
    roster = roster() if callable(roster) else roster
    if roster.height == 0:
        return empty_hits()
    candidates = [pl.DataFrame(schema=_PAIR_SCHEMA)]
    if names is None:
        # Identifiers only: names are prepared just for the rows that matched, to tell which fields agree.
        candidates.append(_npi_pairs(roster.people, frame.select("r", npi=_clean_npi(pl.col("npi")))))
        matched = frame.filter(pl.col("r").is_in(candidates[-1]["r"].implode()))
        rows = _prepare_listing(_listing_names(matched), roster.vocabulary)
        return _strongest(_judged(pl.concat(candidates), roster, frame, kinds), roster, rows)
    rows = _prepare_listing(names, roster.vocabulary)
    if "npi" in kinds:
        candidates.append(_npi_pairs(roster.people, rows.main))
    individuals = rows.main.filter(~pl.col("entity"), pl.col("first").is_not_null())
    # A list without DOBs (SAM, preclusion) has no pair to find by DOB.
    if "name_dob" in kinds and individuals.get_column("dob").null_count() < individuals.height:
        # Only the rows' last-name variants some physician carries can meet a physician by last name.
        known = rows.last.filter(pl.col("variant").is_in(roster.surnames.implode())).select("r", "variant")
        candidates.append(_name_dob_pairs(roster, known, individuals))
        candidates.append(_close_name_pairs(roster, rows, individuals))
        candidates.append(_mistyped_dob_pairs(roster, rows, known, individuals))
    if "name" in kinds:
        candidates.append(_name_pairs(roster, rows, individuals, fuzzy_threshold))
    return _strongest(_judged(pl.concat(candidates), roster, frame, kinds), roster, rows)


# -- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Side:
    """One input, keyed by its row number ``id`` ("p" for the roster, "r" for the list)."""

    #: id, first (normalised), dob, npi, name codes ... one row per input row, ascending by id.
    main: pl.DataFrame
    #: id, variant, whole: the last-name variants in long form.
    last: pl.DataFrame
    #: id, state: the physician's license states (roster only).
    states: pl.DataFrame | None = None
    #: r, record_key, record: the published rows (list only), kept apart so that joins do not drag them.
    published: pl.DataFrame | None = None


def _clean_npi(expr: pl.Expr) -> pl.Expr:
    npi = expr.str.strip_chars()
    return pl.when(npi.str.strip_chars_start("0") != "").then(npi)  # empty or all zeros: a placeholder


def _clean_state(expr: pl.Expr) -> pl.Expr:
    state = expr.str.strip_chars().str.to_uppercase()
    return pl.when(state != "").then(state)


def _name_words(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """``raw``: each distinct value of ``column``; ``name``: it normalised (null when nothing is left);
    ``tok``: that name's first word. Names repeat a lot: each is normalised once."""
    name = normalized(pl.col("raw"))
    return (
        frame.select(raw=pl.col(column).unique())
        .with_columns(name=pl.when(name != "").then(name))
        .with_columns(tok=first_token(pl.col("name")))
    )


#: Integer codes of the first and middle names (see :class:`PreparedRoster`): ``fid`` the whole first
#: name, ``tid`` its first word, ``ini`` that word's first letter, ``single`` the word is a lone initial;
#: ``mid``, ``mini``, ``msingle`` the same for the middle name's first word, ``has_mid`` it has one.
_FIRST_CODES = ("fid", "tid", "ini", "single")
_MIDDLE_CODES = ("mid", "mini", "msingle", "has_mid")


def _coded(frame: pl.DataFrame, firsts: pl.DataFrame, middles: pl.DataFrame, vocabulary: pl.Enum) -> pl.DataFrame:
    """``frame`` with its raw ``first`` normalised and ``middle`` replaced by the name codes, from the
    :func:`_name_words` of each column: coded once per distinct name, joined onto the rows (kept in order). A word
    outside the vocabulary (no physician has it) gets a null code: it can equal nothing on the roster side."""

    def code(expr: pl.Expr) -> pl.Expr:
        return expr.cast(vocabulary, strict=False).to_physical()

    tok = pl.col("tok")
    first_codes = firsts.select(
        "raw", name="name", fid=code(pl.col("name")), tid=code(tok), ini=code(tok.str.slice(0, 1)),
        single=tok.str.len_chars() == 1,
    )  # fmt: skip
    middle_codes = middles.select(
        "raw", mid=code(tok), mini=code(tok.str.slice(0, 1)), msingle=tok.str.len_chars() == 1,
        has_mid=tok.is_not_null(),
    )  # fmt: skip
    return (
        frame.join(first_codes, left_on="first", right_on="raw", how="left", nulls_equal=True, maintain_order="left")
        .join(middle_codes, left_on="middle", right_on="raw", how="left", nulls_equal=True, maintain_order="left")
        .drop("first", "middle")
        .rename({"name": "first"})
    )


class PreparedRoster:
    """The roster side of screening, prepared once per run and shared by every list screened.

    First and middle names are compared as integer codes, so that comparing millions of candidate
    pairs compares numbers. The vocabulary is the roster's own words (first and middle names, their
    first words and initials) plus the nickname table's: a list word outside it matches no physician.
    """

    def __init__(self, roster: pl.DataFrame, nicknames: pl.DataFrame) -> None:
        frame = roster.select([pl.col(name).cast(dtype) for name, dtype in ROSTER_SCHEMA.items()]).with_row_index("p")
        firsts, middles = _name_words(frame, "first_name"), _name_words(frame, "middle_name")
        pairs = nickname_pairs(nicknames)
        words = pl.concat(
            [
                firsts.select(word="name"),
                firsts.select(word="tok"),
                firsts.select(word=pl.col("tok").str.slice(0, 1)),
                middles.select(word="tok"),
                middles.select(word=pl.col("tok").str.slice(0, 1)),
                pairs.select(word="a"),
                pairs.select(word="b"),
            ]
        )
        self.vocabulary = pl.Enum(words["word"].drop_nulls().unique().sort())
        main = _coded(
            frame.select(
                "p",
                "physician_id",
                "dob",
                first=pl.col("first_name"),
                middle=pl.col("middle_name"),
                npi=_clean_npi(pl.col("npi")),
            ),
            firsts,
            middles,
            self.vocabulary,
        )
        states = (
            frame.select("p", state=pl.col("states"))
            .explode("state")
            .with_columns(state=_clean_state(pl.col("state")))
            .filter(pl.col("state").is_not_null())
            .unique()
        )
        variants = last_name_variant_rows(frame, "p", "last_name", "former_last_names")
        self.people = _Side(main, variants, states)
        #: The roster as given (numbered ``p``): the candidates' evidence is read from it.
        self.frame = frame
        #: Each first name's nickname-equivalents, for :func:`roster.screening.evidence.compare`.
        self.nickname_map: dict[str, frozenset[str]] = {
            row["a"]: frozenset(row["b"]) for row in pairs.group_by("a").agg("b").iter_rows(named=True)
        }
        #: Nickname pairs as (tid_r, tid_p) codes.
        self.nicknames = pairs.select(
            tid_r=pl.col("a").cast(self.vocabulary).to_physical(), tid_p=pl.col("b").cast(self.vocabulary).to_physical()
        )

    @property
    def height(self) -> int:
        """How many physicians."""
        return self.people.main.height

    @cached_property
    def surnames(self) -> pl.Series:
        """Every last-name variant on the roster (hyphen parts and former names included)."""
        return self.people.last.get_column("variant").unique()

    @cached_property
    def dated_names(self) -> pl.DataFrame:
        """p, dob, variant: every last-name variant of the physicians with a DOB and a first name, for
        the ``name_dob`` kind."""
        return (
            self.people.main.filter(pl.col("dob").is_not_null(), pl.col("first").is_not_null())
            .select("p", "dob")
            .join(self.people.last.select("p", "variant"), on="p")
        )

    @cached_property
    def long_last_names(self) -> pl.DataFrame:
        """p, dob, head: the physicians with a DOB, a first name and a last name long enough to be cut at
        a list's field width, by its first letters (spaces dropped), for :func:`_close_name_pairs`."""
        return _long_heads(
            self.people.main.filter(pl.col("dob").is_not_null(), pl.col("tid").is_not_null())
            .select("p", "dob")
            .join(self.people.last.filter("whole").select("p", "variant"), on="p")
        ).select("p", "dob", "head")

    @cached_property
    def full_names(self) -> pl.DataFrame:
        """The physicians' "LAST FIRST" names, one per last-name variant, for the ``name`` kind."""
        physicians = (
            self.people.main.filter(pl.col("first").is_not_null())
            .select("p", dob_p="dob", first_p="first", **_codes("p"))
            .join(self.people.last.select("p", variant_p="variant"), on="p")
        )
        return _full_names(physicians, "p", "pi")

    @cached_property
    def name_keys(self) -> pl.DataFrame:
        """code, pi, p, dated_p: each physician name under its first word (``against`` 0) and its initial
        (1), once with no state and once per license state of the physician, coded as one integer by
        :meth:`name_key`: what :func:`_first_name_probes` look up."""
        assert self.people.states is not None
        blocks, states, _ = self._key_space
        no_state = len(states.categories)
        names = self.full_names.select(
            "pi", "p", "tid_p", "ini_p", dated_p=pl.col("dob_p").is_not_null(), block=_code(pl.col("block"), blocks)
        )
        keys = pl.concat(
            [
                names.select("pi", "p", "block", "dated_p", against=pl.lit(0, pl.UInt8), key=pl.col("tid_p")),
                names.select("pi", "p", "block", "dated_p", against=pl.lit(1, pl.UInt8), key=pl.col("ini_p")),
            ]
        ).filter(pl.col("key").is_not_null())
        license_states = self.people.states.select("p", state=_code(pl.col("state"), states))
        place = pl.col("block") * (no_state + 1) + pl.col("state")
        return pl.concat(
            [
                frame.select("pi", "p", "dated_p", code=self.name_key(place, pl.col("against"), pl.col("key")))
                for frame in (
                    keys.with_columns(state=pl.lit(no_state, pl.UInt64)),
                    keys.join(license_states, on="p"),
                )
            ]
        )

    @cached_property
    def licenses(self) -> pl.Series:
        """Every (physician, license state) as :meth:`license` codes it."""
        assert self.people.states is not None
        return self.people.states.select(self.license(pl.col("p"), pl.col("state"))).to_series()

    def license(self, p: pl.Expr, state: pl.Expr) -> pl.Expr:
        """(physician, state) as one UInt64; null when no physician holds a license in that state."""
        _, states, _ = self._key_space
        return p.cast(pl.UInt64) * (len(states.categories) + 1) + _code(state, states)

    @cached_property
    def name_codes(self) -> pl.Series:
        """Every distinct ``code`` of :attr:`name_keys`."""
        return self.name_keys.get_column("code").unique()

    @cached_property
    def _key_space(self) -> tuple[pl.Enum, pl.Enum, int]:
        assert self.people.states is not None
        blocks = pl.Enum(self.full_names.get_column("block").unique().sort())
        states = pl.Enum(self.people.states.get_column("state").unique().sort())
        words = len(self.vocabulary.categories)
        if len(blocks.categories) * (len(states.categories) + 1) * 2 * words >= 1 << 64:
            raise ValueError("the roster's name blocks, states and words do not fit one 64-bit key")
        return blocks, states, words

    def name_place(self, block: pl.Expr, state: pl.Expr) -> pl.Expr:
        """(block, state or none) as one UInt64; null when the block or the state is not the roster's:
        such a name can meet no physician."""
        blocks, states, _ = self._key_space
        no_state = len(states.categories)
        state_code = pl.when(state.is_null()).then(pl.lit(no_state, pl.UInt64)).otherwise(_code(state, states))
        return _code(block, blocks) * (no_state + 1) + state_code

    def name_key(self, place: pl.Expr, against: pl.Expr, key: pl.Expr) -> pl.Expr:
        """(:meth:`name_place`, against, key) as one UInt64, so that the ``name`` kind's big join is on
        one integer rather than on four columns, two of them strings."""
        _, _, words = self._key_space
        return (place * 2 + against.cast(pl.UInt64)) * words + key.cast(pl.UInt64)


def _code(value: pl.Expr, categories: pl.Enum) -> pl.Expr:
    """The position of ``value`` among ``categories`` as a UInt64; null when it is not one of them."""
    return value.cast(categories, strict=False).to_physical().cast(pl.UInt64)


def _indexed_listing(listing: pl.DataFrame) -> pl.DataFrame:
    """The list frame's columns in order, typed, numbered ``r``. A snapshot parsed before records were
    kept as structs holds ``record`` as JSON beside a ``record_hash``: both are passed through."""
    legacy = ["record_hash"] if "record_hash" in listing.columns else []
    columns = [pl.col(name).cast(dtype) for name, dtype in LIST_SCHEMA.items()]
    return listing.select(*columns, RECORD, *legacy).with_row_index("r")


@dataclass(frozen=True, slots=True)
class _ListingNames:
    """A list's share of the work that needs no roster: its rows (``state`` cleaned, names raw), the
    :func:`_name_words` of its first and middle names, its last-name variants and its published rows."""

    main: pl.DataFrame
    firsts: pl.DataFrame
    middles: pl.DataFrame
    last: pl.DataFrame
    published: pl.DataFrame


def _listing_names(frame: pl.DataFrame) -> _ListingNames:
    # A list has a few dozen distinct states: each is cleaned once.
    states = frame.select(raw=pl.col("state").unique()).with_columns(clean=_clean_state(pl.col("raw")))
    main = frame.select(
        "r",
        "dob",
        first=pl.col("first_name"),
        middle=pl.col("middle_name"),
        entity=pl.col("entity").fill_null(False),
        npi=_clean_npi(pl.col("npi")),
        raw_state=pl.col("state"),
    ).join(states, left_on="raw_state", right_on="raw", how="left", nulls_equal=True, maintain_order="left")
    return _ListingNames(
        main=main.drop("raw_state").rename({"clean": "state"}),
        firsts=_name_words(frame, "first_name"),
        middles=_name_words(frame, "middle_name"),
        last=last_name_variant_rows(frame, "r", "last_name"),
        published=frame.select("r", "record_key", pl.exclude(*LIST_SCHEMA, "r")),
    )


def _prepare_listing(names: _ListingNames, vocabulary: pl.Enum) -> _Side:
    main = _coded(names.main, names.firsts, names.middles, vocabulary)
    return _Side(main, names.last, published=names.published)


# -- first and middle names ----------------------------------------------------------------------


def _codes(side: str, names: tuple[str, ...] = _FIRST_CODES + _MIDDLE_CODES) -> dict[str, pl.Expr]:
    return {f"{name}_{side}": pl.col(name) for name in names}


def _at(main: pl.DataFrame, key: str, values: pl.Series, *columns: str | pl.Expr, **named: pl.Expr) -> pl.DataFrame:
    """``columns`` of the rows of ``main`` (a :attr:`_Side.main`, ascending by ``key``) whose ``key`` is
    each of ``values`` in turn (all present): found by binary search, where a join would hash the whole
    side to look up a few thousand pairs."""
    return main.select(*columns, **named)[main.get_column(key).search_sorted(values)]


def _with_first_names(candidates: pl.DataFrame, roster: PreparedRoster, rows: _Side) -> pl.DataFrame:
    """Adds the first-name codes of both sides (``fid_p`` ... ``single_r``) to a frame of (p, r) pairs."""
    return pl.concat(
        [
            candidates,
            _at(roster.people.main, "p", candidates.get_column("p"), **_codes("p", _FIRST_CODES)),
            _at(rows.main, "r", candidates.get_column("r"), **_codes("r", _FIRST_CODES)),
        ],
        how="horizontal",
    )


def _first_name_agreement(frame: pl.LazyFrame, nicknames: pl.DataFrame) -> pl.LazyFrame:
    """Adds ``first_exact`` and ``first_ok`` (exact, same first word, one first word a lone initial of
    the other, or nickname-equivalent first words) to a frame with both sides' first-name codes."""
    joined = frame.join(nicknames.lazy().with_columns(nickname=pl.lit(True)), on=["tid_r", "tid_p"], how="left")
    initial = (pl.col("single_p") & (pl.col("ini_r") == pl.col("tid_p"))) | (
        pl.col("single_r") & (pl.col("ini_p") == pl.col("tid_r"))
    )
    exact = (pl.col("fid_p") == pl.col("fid_r")).fill_null(False)
    same_word = (pl.col("tid_p") == pl.col("tid_r")).fill_null(False)
    ok = exact | same_word | initial.fill_null(False) | pl.col("nickname").fill_null(False)
    return joined.with_columns(first_exact=exact, first_ok=ok).drop("nickname")


def _middle_names_conflict() -> pl.Expr:
    """Both sides have a middle name and neither its first word nor an initial of it agrees:
    ROBERT A SMITH is not ROBERT C SMITH, nor ROBERT ALAN SMITH ROBERT CARL SMITH."""
    same = (pl.col("mid_p") == pl.col("mid_r")).fill_null(False)
    initial = (
        (pl.col("msingle_p") & (pl.col("mini_r") == pl.col("mid_p")))
        | (pl.col("msingle_r") & (pl.col("mini_p") == pl.col("mid_r")))
    ).fill_null(False)
    return pl.col("has_mid_p") & pl.col("has_mid_r") & ~same & ~initial


# -- candidate pairs, one function per match kind ------------------------------------------------


def _npi_pairs(people: _Side, listed: pl.DataFrame) -> pl.DataFrame:
    """(p, r) pairs with equal NPIs; ``listed`` has the list rows' ``r`` and cleaned ``npi``."""
    return (
        people.main.filter(pl.col("npi").is_not_null())
        .select("p", "npi")
        .join(listed.filter(pl.col("npi").is_not_null()).select("r", "npi"), on="npi")
        .select("p", "r", kind=pl.lit(0, pl.UInt8), score=pl.lit(1.0))
        .cast(_PAIR_SCHEMA)
    )


def _name_dob_pairs(roster: PreparedRoster, known: pl.DataFrame, individuals: pl.DataFrame) -> pl.DataFrame:
    """Same DOB and a shared last-name variant; any first name (a typo in it, or the middle name in its
    place, is still a lead with an equal DOB: :mod:`roster.screening.evidence` decides).
    ``individuals``: the list rows that may match by name (persons with a first name); ``known``: their
    (r, variant) last-name variants that some physician carries."""
    listed = individuals.filter(pl.col("dob").is_not_null()).select("r", "dob").join(known, on="r")
    candidates = listed.join(roster.dated_names, on=["variant", "dob"]).select("p", "r").unique()
    return candidates.select("p", "r", kind=pl.lit(1, pl.UInt8), score=pl.lit(None, pl.Float64)).cast(_PAIR_SCHEMA)


def _close_name_pairs(roster: PreparedRoster, rows: _Side, individuals: pl.DataFrame) -> pl.DataFrame:
    """Same DOB, the last name one edit away and the first word equal or a nickname (BAILEV WILLIAM for
    William Bailey); or first and last names exchanged (the row's last name is the physician's first word);
    or the row's long last name the start of the physician's (cut at the list's field width)."""
    dated = individuals.filter(pl.col("dob").is_not_null())
    people = roster.people.main.filter(pl.col("dob").is_not_null(), pl.col("tid").is_not_null())
    by_first = pl.concat(
        [
            dated.select("r", "dob", "tid"),
            dated.select("r", "dob", tid_r=pl.col("tid"))
            .join(roster.nicknames, on="tid_r")
            .select("r", "dob", tid="tid_p"),
        ]
    )
    same_first = by_first.join(people.select("p", "dob", "tid"), on=["dob", "tid"]).select("p", "r").unique()
    lasts_r = rows.last.filter("whole").select("r", last_r="variant")
    lasts_p = roster.people.last.filter("whole").select("p", last_p="variant")
    typo = same_first.join(lasts_r, on="r").join(lasts_p, on="p")
    if typo.height:
        typo = typo.filter(_within_one_edit(typo["last_r"], typo["last_p"]))
    firsts_p = people.select("p", "dob", variant=first_token(pl.col("first")))
    swapped = (
        dated.select("r", "dob").join(rows.last.select("r", "variant"), on="r").join(firsts_p, on=["dob", "variant"])
    )

    # A long last name cut at the list's field width (the LEIE keeps 20 letters): same DOB, same first letters.
    cut = _long_heads(rows.last.filter("whole").select("r", "variant")).join(dated.select("r", "dob"), on="r")
    truncated = cut.join(roster.long_last_names, on=["dob", "head"])
    return (
        pl.concat([typo.select("p", "r"), swapped.select("p", "r"), truncated.select("p", "r")])
        .unique()
        .select("p", "r", kind=pl.lit(1, pl.UInt8), score=pl.lit(None, pl.Float64))
        .cast(_PAIR_SCHEMA)
    )


def _long_heads(names: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``names`` whose ``variant`` has at least ``TRUNCATED_FROM`` letters, with ``head``: those
    first letters, spaces dropped (DE LA CRUZPEREZGONZA and DELACRUZPEREZGONZALEZ share DELACRUZPERE)."""
    letters = pl.col("variant").str.replace_all(" ", "", literal=True)
    return (
        names.filter(pl.col("variant").str.len_chars() >= ev.TRUNCATED_FROM)  # cheap, before the replace
        .with_columns(letters=letters)
        .filter(pl.col("letters").str.len_chars() >= ev.TRUNCATED_FROM)
        .with_columns(head=pl.col("letters").str.slice(0, ev.TRUNCATED_FROM))
        .drop("letters")
    )


def _mistyped_dob_pairs(
    roster: PreparedRoster, rows: _Side, known: pl.DataFrame, individuals: pl.DataFrame
) -> pl.DataFrame:
    """A shared last-name variant and a DOB one keystroke away: a one-digit typo leaves two of year, month
    and day equal, and a day/month transposition leaves the year; each is one join on (variant, two parts)."""
    listed = (
        individuals.filter(pl.col("dob").is_not_null())
        .select("r", y=pl.col("dob").dt.year(), m=pl.col("dob").dt.month(), d=pl.col("dob").dt.day())
        .join(known, on="r")
    )
    dated = roster.dated_names.select(
        "p", "variant", y=pl.col("dob").dt.year(), m=pl.col("dob").dt.month(), d=pl.col("dob").dt.day()
    )
    joins = [
        listed.join(dated, on=["variant", *keys]).select("p", "r") for keys in (("y", "m"), ("y", "d"), ("m", "d"))
    ]
    joins.append(listed.join(dated.rename({"m": "d", "d": "m"}), on=["variant", "y", "m", "d"]).select("p", "r"))
    pairs = pl.concat(joins).unique().sort("p", "r")
    # Common surnames share a year and month by the thousand: keep the pairs whose DOBs are one
    # keystroke apart and whose first names agree before any is judged one by one.
    pairs = pl.concat(
        [
            pairs,
            _at(roster.people.main, "p", pairs.get_column("p"), dob_p="dob"),
            _at(rows.main, "r", pairs.get_column("r"), dob_r="dob"),
        ],
        how="horizontal",
    ).filter(_one_keystroke_apart(pl.col("dob_p"), pl.col("dob_r")))
    return (
        _first_name_agreement(_with_first_names(pairs.select("p", "r"), roster, rows).lazy(), roster.nicknames)
        .filter("first_ok")
        .select("p", "r", kind=pl.lit(1, pl.UInt8), score=pl.lit(None, pl.Float64))
        .cast(_PAIR_SCHEMA)
        .collect()
    )


def _one_keystroke_apart(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Two dates whose YYYYMMDD differ in one digit, or whose day and month are exchanged
    (:func:`roster.screening.evidence.compare_dob` says which)."""

    def digits_differing(x: pl.Expr, y: pl.Expr, width: int) -> pl.Expr:
        x, y = x.cast(pl.Int32), y.cast(pl.Int32)
        return pl.sum_horizontal([((x // 10**k) % 10 != (y // 10**k) % 10).cast(pl.Int32) for k in range(width)])

    ya, ma, da = a.dt.year(), a.dt.month(), a.dt.day()
    yb, mb, db = b.dt.year(), b.dt.month(), b.dt.day()
    differing = digits_differing(ya, yb, 4) + digits_differing(ma, mb, 2) + digits_differing(da, db, 2)
    transposed = (ya == yb) & (ma == db) & (da == mb) & (ma != da)
    return (differing == 1) | transposed


def _within_one_edit(left: pl.Series, right: pl.Series) -> pl.Series:
    """Element-wise: the two strings are at most one edit apart (optimal string alignment)."""
    import numpy as np  # rapidfuzz's cpdist returns (and needs) numpy arrays
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    distances = process.cpdist(left.to_list(), right.to_list(), scorer=OSA.distance, dtype=np.int32, workers=-1)
    return pl.Series(values=distances <= 1, dtype=pl.Boolean())


def _full_names(frame: pl.DataFrame, side: str, index: str) -> pl.DataFrame:
    """Number the (row, last-name variant) pairs ``index`` (their position) and add their ``block``: the
    last name's first three letters. Their "LAST FIRST" names are spelled for candidate pairs only."""
    return frame.with_columns(block=pl.col(f"variant_{side}").str.slice(0, 3)).with_row_index(index)


def _first_name_probes(listed: pl.DataFrame, roster: PreparedRoster) -> pl.DataFrame:
    """li, dated_r, code: what each list name (with its :meth:`PreparedRoster.name_place` ``place``) is
    looked up by among the physicians' :attr:`PreparedRoster.name_keys`, so that the join itself yields
    only pairs with compatible first names: ``against`` 0 looks up a physician's first word by the row's
    first word, each of its nicknames and (for a physician written with an initial) its initial;
    ``against`` 1 looks up a physician's initial by a row's lone initial. Only probes some physician
    has are kept."""
    listed = listed.select("li", "place", "tid_r", "ini_r", "single_r", dated_r=pl.col("dob_r").is_not_null())

    def probe(frame: pl.DataFrame, against: int, key: str) -> pl.DataFrame:
        code = roster.name_key(pl.col("place"), pl.lit(against, pl.UInt8), pl.col(key))
        return frame.select("li", "dated_r", code=code)

    probes = pl.concat(
        [
            probe(listed, 0, "tid_r"),
            probe(listed.join(roster.nicknames, on="tid_r"), 0, "tid_p"),
            probe(listed.filter(~pl.col("single_r")), 0, "ini_r"),
            probe(listed.filter(pl.col("single_r")), 1, "tid_r"),
        ]
    )
    # Few probes meet a physician: a hash set of the roster's codes finds them before any join.
    return probes.filter(pl.col("code").is_in(roster.name_codes.implode()))


def _name_pairs(roster: PreparedRoster, rows: _Side, individuals: pl.DataFrame, threshold: float) -> pl.DataFrame:
    listed = _full_names(
        individuals.select("r", "state", dob_r="dob", first_r="first", **_codes("r")).join(
            rows.last.filter("whole").select("r", variant_r="variant"), on="r"
        ),
        "r",
        "li",
    )
    physicians = roster.full_names
    # Joined on the last name's first three letters, compatible first names and, for a row with a
    # state, that state among the physician's licenses; then the rest of the rules: one side without
    # a DOB (both: name_dob or nothing) and middle names not in conflict.
    listed = listed.with_columns(place=roster.name_place(pl.col("block"), pl.col("state")))
    pairs = (
        _first_name_probes(listed, roster)
        .join(roster.name_keys, on="code")
        .filter(~pl.col("dated_r") | ~pl.col("dated_p"))
        .select("li", "pi")
        .unique()
    )
    # li and pi are positions in listed and physicians: the pairs' columns are gathered, not joined.
    pairs = pl.concat(
        [
            pairs,
            listed.select("r", "variant_r", "first_r", *_codes("r"))[pairs.get_column("li")],
            physicians.select("p", "variant_p", "first_p", *_codes("p"))[pairs.get_column("pi")],
        ],
        how="horizontal",
    ).filter(~_middle_names_conflict())
    candidates = (
        pairs.with_columns(first_exact=(pl.col("fid_p") == pl.col("fid_r")).fill_null(False))
        # A surname spelled exactly as one the roster carries is taken as spelled: JOHNSTON on the
        # list is the Johnstons' lead, not a typo for Johnson (record linkage's known-value rule).
        .filter((pl.col("variant_r") == pl.col("variant_p")) | ~pl.col("variant_r").is_in(roster.surnames.implode()))
        .select(
            "p",
            "r",
            "first_exact",
            name_r=pl.concat_str("variant_r", "first_r", separator=" "),
            name_p=pl.concat_str("variant_p", "first_p", separator=" "),
            name_alt=pl.concat_str("variant_r", "first_p", separator=" "),
        )
    )
    # Every candidate's "LAST FIRST" is scored; and, for a compatible first name (initial, nickname),
    # the list name with the physician's first name in its place. (Spelled as fresh contiguous
    # strings: cpdist runs twice as fast on them as on shared, scattered ones.)
    direct_scores = _jaro_winkler(candidates["name_r"], candidates["name_p"])
    alternative = candidates.filter(~pl.col("first_exact"))
    alternative_scores = _jaro_winkler(alternative["name_alt"], alternative["name_p"])
    return (
        pl.concat(
            [
                candidates.select("p", "r", score=direct_scores),
                alternative.select("p", "r", score=alternative_scores),
            ]
        )
        .filter(pl.col("score") >= threshold)
        .select("p", "r", kind=pl.lit(2, pl.UInt8), score="score")
        .cast(_PAIR_SCHEMA)
    )


def _jaro_winkler(left: pl.Series, right: pl.Series) -> pl.Series:
    """Element-wise Jaro-Winkler similarity in [0, 1] of two equally long String series."""
    import numpy as np  # rapidfuzz's cpdist returns (and needs) numpy arrays
    from rapidfuzz import process
    from rapidfuzz.distance import JaroWinkler

    if len(left) == 0:
        return pl.Series(values=[], dtype=pl.Float64())
    scores = process.cpdist(
        left.to_list(), right.to_list(), scorer=JaroWinkler.normalized_similarity, dtype=np.float64, workers=-1
    )
    return pl.Series(values=scores, dtype=pl.Float64())


# -- result ------------------------------------------------------------------------------------


def _published(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (r, record_key, record ...) with ``record_hash`` and ``record`` as JSON: computed here,
    for the few rows that are hits, from the published struct (or passed through from a legacy frame)."""
    if rows.schema[RECORD] == pl.String():
        return rows.select("r", "record_key", "record_hash", RECORD)
    return rows.select("r", "record_key", record_hash=record_hash(rows[RECORD]), record=record_json(rows[RECORD]))


def _gathered(frame: pl.DataFrame, positions: pl.Series) -> pl.DataFrame:
    """``frame[positions]`` (ascending positions), gathered chunk by chunk of the published record: a
    parsed list arrives in a few dozen chunks, and a gather across them merges every chunk's string
    buffers, costing more than the whole rest of the lookup."""
    parts, offset = [], 0
    for length in frame.get_column(RECORD).chunk_lengths():
        local = positions.filter((positions >= offset) & (positions < offset + length)) - offset
        if local.len():
            parts.append(frame.slice(offset, length)[local])
        offset += length
    return pl.concat(parts, rechunk=False) if parts else frame.clear()


_JUDGED_SCHEMA: dict[str, pl.DataType] = {
    **_PAIR_SCHEMA,
    "evidence": pl.String(),
    "suppressed": pl.String(),
}


def _judged(
    candidates: pl.DataFrame, roster: PreparedRoster, listing: pl.DataFrame, kinds: Collection[str]
) -> pl.DataFrame:
    """Each candidate pair described field by field and judged by the decision table
    (:mod:`roster.screening.evidence`); pairs that are no lead are dropped. Candidates are few (the
    joins above find them), so each is compared in Python, by the same pure functions the tests call."""
    pairs = (
        candidates.group_by("p", "r").agg(name_score=pl.col("score").filter(pl.col("kind") == 2).max()).sort("p", "r")
    )
    if pairs.is_empty():
        return pl.DataFrame(schema=_JUDGED_SCHEMA)

    # Both sides' names normalised by polars for the candidates alone (the same steps as normalize_name).
    def name(column: str) -> pl.Expr:
        return normalized(pl.col(column)).fill_null("")

    present = pl.element().filter(pl.element().is_not_null() & (pl.element() != ""))
    people = _at(
        roster.frame, "p", pairs.get_column("p").unique(), "p", "dob", "npi", "first_name", "middle_name",
        "last_name", "former_last_names", "states",
    ).select(
        "p",
        "dob",
        npi=_clean_npi(pl.col("npi")),
        first=name("first_name"),
        middle=name("middle_name"),
        # lists travel to Python as one string each: a list cell costs a Python list per row
        lasts=pl.concat_list(pl.col("last_name"), pl.col("former_last_names").fill_null([]))
        .list.eval(normalized(pl.element()))
        .list.eval(present)
        .list.join("|"),
        states=pl.col("states").list.eval(_clean_state(pl.element())).list.eval(present).list.join("|"),
    )  # fmt: skip
    listed = _at(
        listing,
        "r",
        pairs.get_column("r").unique(),
        "r",
        "dob",
        "npi",
        "first_name",
        "middle_name",
        "last_name",
        "state",
    ).select(
        "r",
        "dob",
        npi=_clean_npi(pl.col("npi")),
        first=name("first_name"),
        middle=name("middle_name"),
        last=name("last_name"),
        state=_clean_state(pl.col("state")),
    )
    physicians = {
        p: ev.Side(
            npi, dob, first, middle, tuple(lasts.split("|")) if lasts else (), frozenset(states.split("|")) - {""}
        )
        for p, dob, npi, first, middle, lasts, states in people.iter_rows()
    }
    rows = {
        r: ev.Side(npi, dob, first, middle, (last,), frozenset((state,)) if state else frozenset())
        for r, dob, npi, first, middle, last, state in listed.iter_rows()
    }
    kind_codes = {kind: code for code, kind in enumerate(MATCH_KINDS)}
    judged: list[tuple[int, int, int, float, str, str | None]] = []
    for p, r, name_score in pairs.iter_rows():
        evidence = ev.compare(physicians[p], rows[r], roster.nickname_map)
        verdict = ev.decide(evidence, name_score, kinds=kinds)
        if verdict is not None:
            judged.append((p, r, kind_codes[verdict.kind], verdict.score, evidence.as_json(), verdict.suppressed))
    return pl.DataFrame(judged, schema=_JUDGED_SCHEMA, orient="row")


def _strongest(candidates: pl.DataFrame, roster: PreparedRoster, rows: _Side) -> pl.DataFrame:
    """One row per (physician, record), as judged; then the fields that agree and the published record."""
    best = candidates
    if best.is_empty():
        return empty_hits()
    people = roster.people
    assert people.states is not None and rows.published is not None
    wanted = best.get_column("r").unique()
    same_last = (
        best.select("p", "r")
        .join(rows.last.filter(pl.col("r").is_in(wanted.implode())).select("r", "variant"), on="r")
        .join(people.last.select("p", "variant"), on=["p", "variant"])
        .select("p", "r", same_last=pl.lit(True))
        .unique()
    )
    # ``r`` ascends in rows.published: the hits' rows are found by binary search, not by a pass over it
    published = _published(_gathered(rows.published, rows.published.get_column("r").search_sorted(wanted)))
    described = _first_name_agreement(_with_first_names(best, roster, rows).lazy(), roster.nicknames).collect()
    described = (
        pl.concat(
            [
                described,
                _at(people.main, "p", described.get_column("p"), "physician_id", npi_p="npi", dob_p="dob"),
                _at(rows.main, "r", described.get_column("r"), "state", npi_r="npi", dob_r="dob"),
            ],
            how="horizontal",
        )
        .join(published, on="r")
        .join(same_last, on=["p", "r"], how="left")
        .with_columns(same_state=roster.license(pl.col("p"), pl.col("state")).is_in(roster.licenses.implode()))
    )
    agree = {
        "npi": pl.col("npi_p") == pl.col("npi_r"),
        "last_name": pl.col("same_last"),
        "first_name": pl.col("first_ok"),
        "dob": pl.col("dob_p") == pl.col("dob_r"),
        "state": pl.col("same_state"),
    }
    fields = pl.concat_list([pl.when(test.fill_null(False)).then(pl.lit(name)) for name, test in agree.items()])
    hits = described.select(
        "physician_id",
        "record_key",
        "record_hash",
        "kind",
        match_kind=pl.col("kind").replace_strict(dict(enumerate(MATCH_KINDS)), return_dtype=pl.String()),
        score="score",
        matched_fields=fields.list.drop_nulls(),
        record="record",
        evidence="evidence",
        suppressed="suppressed",
    )
    # Several list rows can share a record_key (publishers repeat rows): keep one, by a total order.
    return (
        hits.sort(
            "physician_id",
            "record_key",
            pl.col("suppressed").is_not_null(),
            "kind",
            "score",
            "record_hash",
            "record",
            pl.col("matched_fields").list.join(","),
            "evidence",
            descending=[False, False, False, False, True, False, False, False, False],
            nulls_last=True,
        )
        .unique(subset=["physician_id", "record_key"], keep="first", maintain_order=True)
        .select(list(HIT_SCHEMA))
        .cast(HIT_SCHEMA)
    )
