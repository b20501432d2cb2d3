"""Screen the whole roster against one exclusion/preclusion list at once (rules.md §4).

Pure polars, no I/O. Three kinds of match, strongest first:

* ``npi``: the list row's NPI equals the physician's (any row, entity rows included); score 1.0.
* ``name_dob``: an individual's row whose DOB equals the physician's and whose normalised last name
  equals one of the physician's last-name variants (whole name, hyphen/space parts, former names),
  with an equal first name (0.98) or an initial / first-word / nickname-compatible one (0.95).
* ``name``: an individual's row where the row or the physician has no DOB, blocked on the first three
  letters of a last-name variant and, when the row has a state, on that state being one of the
  physician's license states; scored by Jaro-Winkler on "LAST FIRST" (also with the physician's first
  name in place of a compatible one) and kept at ``fuzzy_threshold`` or above.

A row whose DOB differs from the physician's never matches by name, and entity rows never match by
name. The result has one row per (physician, list record): the strongest kind, then the best score.
Every join is on blocking keys; only candidate pairs are scored, vectorised by
``rapidfuzz.process.cpdist`` (which needs numpy), and only those a cheap upper bound of their score
(lengths and letter sets) leaves within reach of the threshold. Row order of either input does not change the
result: ties are broken by a total order and the output is sorted explicitly.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import polars as pl

from roster.screening.names import first_token, last_name_variant_rows, nickname_pairs, normalized_column
from roster.sources.records import LIST_SCHEMA

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
    "record_hash": pl.String(),
    #: ``npi`` | ``name_dob`` | ``name``.
    "match_kind": pl.String(),
    "score": pl.Float64(),
    #: Which of npi, last_name, first_name, dob, state agree, in that order.
    "matched_fields": pl.List(pl.String()),
    #: The list row as published (JSON), copied from the list frame.
    "record": pl.String(),
}

MATCH_KINDS: tuple[str, ...] = ("npi", "name_dob", "name")
NAME_DOB_EXACT_SCORE = 0.98
NAME_DOB_VARIANT_SCORE = 0.95

_NPI_PLACEHOLDER = r"^0*$"
_PAIR_SCHEMA: dict[str, pl.DataType] = {"p": pl.UInt32(), "r": pl.UInt32(), "kind": pl.UInt8(), "score": pl.Float64()}


#: Jaro-Winkler similarity two first names need, for a name-only match, when neither is an initial or a
#: nickname of the other: JON ~ JOHN (0.93) passes, CARL ~ CHARLES (0.76) does not.
FIRST_NAME_FLOOR = 0.88


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
    """Every physician in ``roster`` (ROSTER_SCHEMA) that matches a row of ``listing`` (LIST_SCHEMA).

    ``nicknames`` is the ``name``/``nickname`` frame from :func:`roster.screening.names.load_nicknames`.
    ``kinds`` limits the match kinds tried (e.g. ``("npi",)`` for a list keyed by NPI only).
    Returns HIT_SCHEMA sorted by physician_id, record_key.
    """
    unknown = set(kinds) - set(MATCH_KINDS)
    if unknown:
        raise ValueError(f"unknown match kinds {sorted(unknown)}; known: {', '.join(MATCH_KINDS)}")
    if roster.is_empty() or listing.is_empty() or not kinds:
        return empty_hits()
    people, rows, pairs = _code_first_names(
        _prepare_roster(roster), _prepare_listing(listing), nickname_pairs(nicknames)
    )
    candidates = [pl.DataFrame(schema=_PAIR_SCHEMA)]
    if "npi" in kinds:
        candidates.append(_npi_pairs(people, rows))
    if "name_dob" in kinds:
        candidates.append(_name_dob_pairs(people, rows, pairs))
    if "name" in kinds:
        candidates.append(_name_pairs(people, rows, pairs, fuzzy_threshold))
    return _strongest(pl.concat(candidates), people, rows, pairs)


# -- inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Side:
    """One input, keyed by its row number ``id`` ("p" for the roster, "r" for the list)."""

    #: id, first (normalised), tok (its first word), dob, npi, ... one row per input row.
    main: pl.DataFrame
    #: id, variant, whole: the last-name variants in long form.
    last: pl.DataFrame
    #: id, state: the physician's license states (roster only).
    states: pl.DataFrame | None = None


def _clean_npi(expr: pl.Expr) -> pl.Expr:
    npi = expr.str.strip_chars()
    return pl.when(~npi.str.contains(_NPI_PLACEHOLDER)).then(npi)


def _clean_state(expr: pl.Expr) -> pl.Expr:
    state = expr.str.strip_chars().str.to_uppercase()
    return pl.when(state != "").then(state)


def _first_names(frame: pl.DataFrame) -> pl.DataFrame:
    named = normalized_column(frame, "first")
    return named.with_columns(first=pl.when(pl.col("first") != "").then(pl.col("first"))).with_columns(
        tok=first_token(pl.col("first"))
    )


def _prepare_roster(roster: pl.DataFrame) -> _Side:
    frame = roster.select([pl.col(name).cast(dtype) for name, dtype in ROSTER_SCHEMA.items()]).with_row_index("p")
    main = _first_names(
        frame.select("p", "physician_id", "dob", pl.col("first_name").alias("first"), npi=_clean_npi(pl.col("npi")))
    )
    states = (
        frame.select("p", state=pl.col("states"))
        .explode("state")
        .with_columns(state=_clean_state(pl.col("state")))
        .filter(pl.col("state").is_not_null())
        .unique()
    )
    return _Side(main, last_name_variant_rows(frame, "p", "last_name", "former_last_names"), states)


def _prepare_listing(listing: pl.DataFrame) -> _Side:
    frame = listing.select([pl.col(name).cast(dtype) for name, dtype in LIST_SCHEMA.items()]).with_row_index("r")
    main = _first_names(
        frame.select(
            "r",
            "record_key",
            "record_hash",
            "record",
            "dob",
            pl.col("first_name").alias("first"),
            entity=pl.col("entity").fill_null(False),
            npi=_clean_npi(pl.col("npi")),
            state=_clean_state(pl.col("state")),
        )
    )
    return _Side(main, last_name_variant_rows(frame, "r", "last_name"))


# -- first names -------------------------------------------------------------------------------


_FIRST_CODES = ("fid", "tid", "ini", "single")


def _code_first_names(people: _Side, rows: _Side, pairs: pl.DataFrame) -> tuple[_Side, _Side, pl.DataFrame]:
    """Give both sides integer codes for their first names, so that comparing millions of candidate
    pairs compares numbers: ``fid`` (the whole first name), ``tid`` (its first word), ``ini`` (that
    word's first letter) and ``single`` (the first word is a lone initial). The nickname pairs are
    coded the same way, as (tid_r, tid_p)."""
    tok = pl.col("tok")
    words = pl.concat(
        [
            side.main.select(word=column)
            for side in (people, rows)
            for column in (pl.col("first"), tok, tok.str.slice(0, 1))
        ]
        + [pairs.select(word="a"), pairs.select(word="b")]
    )
    vocabulary = pl.Enum(words["word"].drop_nulls().unique().sort())

    def code(expr: pl.Expr) -> pl.Expr:
        return expr.cast(vocabulary).to_physical()

    codes = {
        "fid": code(pl.col("first")),
        "tid": code(tok),
        "ini": code(tok.str.slice(0, 1)),
        "single": tok.str.len_chars() == 1,
    }
    people = _Side(people.main.with_columns(**codes), people.last, people.states)
    rows = _Side(rows.main.with_columns(**codes), rows.last)
    return people, rows, pairs.select(tid_r=code(pl.col("a")), tid_p=code(pl.col("b")))


def _first_codes(side: str) -> dict[str, pl.Expr]:
    return {f"{name}_{side}": pl.col(name) for name in _FIRST_CODES}


def _with_first_names(candidates: pl.DataFrame, people: _Side, rows: _Side) -> pl.DataFrame:
    """Adds the first-name codes of both sides (``fid_p`` ... ``single_r``) to a frame of (p, r) pairs."""
    return candidates.join(people.main.select("p", **_first_codes("p")), on="p").join(
        rows.main.select("r", **_first_codes("r")), on="r"
    )


def _first_name_agreement(frame: pl.LazyFrame, pairs: pl.DataFrame) -> pl.LazyFrame:
    """Adds ``first_exact`` and ``first_ok`` (exact, same first word, one first word a lone initial of
    the other, or nickname-equivalent first words) to a frame with both sides' first-name codes."""
    joined = frame.join(pairs.lazy().with_columns(nickname=pl.lit(True)), on=["tid_r", "tid_p"], how="left")
    initial = (pl.col("single_p") & (pl.col("ini_r") == pl.col("tid_p"))) | (
        pl.col("single_r") & (pl.col("ini_p") == pl.col("tid_r"))
    )
    exact = (pl.col("fid_p") == pl.col("fid_r")).fill_null(False)
    same_word = (pl.col("tid_p") == pl.col("tid_r")).fill_null(False)
    ok = exact | same_word | initial.fill_null(False) | pl.col("nickname").fill_null(False)
    return joined.with_columns(first_exact=exact, first_ok=ok).drop("nickname")


# -- candidate pairs, one function per match kind ------------------------------------------------


def _npi_pairs(people: _Side, rows: _Side) -> pl.DataFrame:
    return (
        people.main.filter(pl.col("npi").is_not_null())
        .select("p", "npi")
        .join(rows.main.filter(pl.col("npi").is_not_null()).select("r", "npi"), on="npi")
        .select("p", "r", kind=pl.lit(0, pl.UInt8), score=pl.lit(1.0))
        .cast(_PAIR_SCHEMA)
    )


def _individuals(rows: _Side) -> pl.DataFrame:
    return rows.main.filter(~pl.col("entity"), pl.col("first").is_not_null())


def _name_dob_pairs(people: _Side, rows: _Side, pairs: pl.DataFrame) -> pl.DataFrame:
    listed = (
        _individuals(rows)
        .filter(pl.col("dob").is_not_null())
        .select("r", "dob")
        .join(rows.last.select("r", "variant"), on="r")
    )
    physicians = (
        people.main.filter(pl.col("dob").is_not_null(), pl.col("first").is_not_null())
        .select("p", "dob")
        .join(people.last.select("p", "variant"), on="p")
    )
    candidates = listed.join(physicians, on=["variant", "dob"]).select("p", "r").unique()
    return (
        _first_name_agreement(_with_first_names(candidates, people, rows).lazy(), pairs)
        .filter("first_ok")
        .select(
            "p",
            "r",
            kind=pl.lit(1, pl.UInt8),
            score=pl.when("first_exact").then(NAME_DOB_EXACT_SCORE).otherwise(NAME_DOB_VARIANT_SCORE),
        )
        .cast(_PAIR_SCHEMA)
        .collect()
    )


def _blocked(listed: pl.LazyFrame, physicians: pl.LazyFrame, states: pl.LazyFrame) -> pl.LazyFrame:
    """Join list rows to physicians on the last-name block, and on state when the row has one."""
    stated = listed.filter(pl.col("state").is_not_null()).join(physicians.join(states, on="p"), on=["block", "state"])
    stateless = listed.filter(pl.col("state").is_null()).join(physicians, on="block")
    columns = ["p", "r", "li", "pi", *_SCORE_BOUND_INPUTS, *_first_codes("r"), *_first_codes("p")]
    return pl.concat([stated.select(columns), stateless.select(columns)])


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SPACE_BIT = 1 << len(_LETTERS)
_SCORE_BOUND_INPUTS = ("len_r", "len_p", "letters_r", "letters_p", "fourth_r", "fourth_p")


def _letter_set(frame: pl.DataFrame, column: str, alias: str) -> pl.DataFrame:
    """Adds ``alias``: the set of letters in ``column`` (A-Z after normalisation) as a bit mask,
    computed once per distinct value."""
    text = pl.col(column)
    bits = [text.str.contains(letter, literal=True).cast(pl.UInt32) * (1 << i) for i, letter in enumerate(_LETTERS)]
    distinct = frame.select(text.unique()).with_columns(pl.sum_horizontal(bits).cast(pl.UInt32).alias(alias))
    return frame.join(distinct, on=column, how="left")


def _full_names(frame: pl.DataFrame, side: str, index: str) -> pl.DataFrame:
    """Number the (row, last-name variant) pairs ``index``, spell their "LAST FIRST" name and add what
    :func:`_jaro_winkler_ceiling` needs: its length, its set of letters and its fourth character."""
    variant, first = f"variant_{side}", f"first_{side}"
    name = pl.concat_str(variant, first, separator=" ")
    with_letters = _letter_set(_letter_set(frame, variant, "_last_letters"), first, "_first_letters")
    return (
        with_letters.with_columns(
            block=pl.col(variant).str.slice(0, 3),
            **{
                f"name_{side}": name,
                f"len_{side}": name.str.len_chars(),
                f"letters_{side}": pl.col("_last_letters") | pl.col("_first_letters") | pl.lit(_SPACE_BIT, pl.UInt32),
                f"fourth_{side}": name.str.slice(3, 1).replace_strict(
                    {letter: i for i, letter in enumerate(_LETTERS, start=1)}, default=0, return_dtype=pl.UInt8
                ),
            },
        )
        .drop("_last_letters", "_first_letters")
        .with_row_index(index)
    )


def _jaro_winkler_ceiling() -> pl.Expr:
    """An upper bound of the Jaro-Winkler similarity of name_r and name_p, from their lengths, letter
    sets and fourth characters alone: pairs under the threshold by this bound need no scoring.

    Jaro = (m/|a| + m/|b| + (m-t)/m) / 3 with m matching characters; a character of a whose letter is
    nowhere in b cannot match, so m <= |a| - #(letters of a missing from b), and likewise for b; and
    (m-t)/m <= 1. Winkler adds prefix * 0.1 * (1 - Jaro) for a common prefix of at most 4, and of at
    most 3 when the fourth characters differ. Rows of 2.3 million candidate pairs of a SAM-sized list
    drop to about 0.2 million, with no pair at or above the threshold lost (it is a bound).
    """
    len_r, len_p = pl.col("len_r").cast(pl.Float64), pl.col("len_p").cast(pl.Float64)
    letters_r, letters_p = pl.col("letters_r"), pl.col("letters_p")
    only_r = (letters_r & ~letters_p).bitwise_count_ones().cast(pl.Float64)
    only_p = (letters_p & ~letters_r).bitwise_count_ones().cast(pl.Float64)
    matches = pl.min_horizontal(len_r - only_r, len_p - only_p).clip(lower_bound=0.0)
    jaro = (matches / len_r + matches / len_p + 1.0) / 3.0
    prefix = pl.when(pl.col("fourth_r") == pl.col("fourth_p")).then(4).otherwise(3)
    return jaro + prefix * 0.1 * (1.0 - jaro)


def _name_pairs(people: _Side, rows: _Side, pairs: pl.DataFrame, threshold: float) -> pl.DataFrame:
    assert people.states is not None
    listed = _full_names(
        _individuals(rows)
        .select("r", "dob", "state", first_r="first", **_first_codes("r"))
        .join(rows.last.filter("whole").select("r", variant_r="variant"), on="r"),
        "r",
        "li",
    )
    physicians = _full_names(
        people.main.filter(pl.col("first").is_not_null())
        .select("p", "dob", first_p="first", **_first_codes("p"))
        .join(people.last.select("p", variant_p="variant"), on="p"),
        "p",
        "pi",
    )
    # A DOB on both sides means name_dob or nothing: the fuzzy kind needs one side without a DOB.
    # Lazy, so that the millions of blocked pairs stream through the filter instead of piling up.
    no_dob = pl.col("dob").is_null()
    lazy_listed, lazy_physicians, states = listed.lazy(), physicians.lazy(), people.states.lazy()
    blocked = pl.concat(
        [
            _blocked(lazy_listed.filter(no_dob), lazy_physicians, states),
            _blocked(lazy_listed.filter(~no_dob), lazy_physicians.filter(no_dob), states),
        ]
    )
    candidates = (
        _first_name_agreement(blocked, pairs)
        .select(
            "p",
            "r",
            "li",
            "pi",
            "first_ok",
            # "LAST FIRST" is scored where the threshold is within reach at all ...
            direct=_jaro_winkler_ceiling() >= threshold - 1e-9,
            # ... and, for a compatible first name (initial, nickname), the list name with the physician's.
            alternative=pl.col("first_ok") & ~pl.col("first_exact"),
        )
        .filter(pl.col("direct") | pl.col("alternative"))
        .collect()
    )
    direct = candidates.filter("direct")
    # A shared surname alone lifts "LAST FIRST" over the threshold (PETERSON JOSEPH ~ PETERSON RAJESH):
    # the first names must also be compatible (initial, nickname) or nearly equal (a typo).
    unsure = direct.filter(~pl.col("first_ok"))
    first_scores = _jaro_winkler(
        listed["first_r"].gather(unsure["li"]).fill_null(""), physicians["first_p"].gather(unsure["pi"])
    )
    rejected = unsure.filter(first_scores < FIRST_NAME_FLOOR).select("li", "pi")
    direct = direct.join(rejected, on=["li", "pi"], how="anti")
    # (gathered into fresh contiguous strings: cpdist runs twice as fast on them as on shared, scattered ones)
    names_r, names_p = listed["name_r"], physicians["name_p"]
    direct_scores = _jaro_winkler(names_r.gather(direct["li"]), names_p.gather(direct["pi"]))
    alternative = (
        candidates.filter("alternative")
        .join(listed.select("li", "variant_r"), on="li")
        .join(physicians.select("pi", "first_p"), on="pi")
        .select("p", "r", "pi", name_alt=pl.concat_str("variant_r", "first_p", separator=" "))
    )
    alternative_scores = _jaro_winkler(alternative["name_alt"], names_p.gather(alternative["pi"]))
    return (
        pl.concat(
            [
                direct.select("p", "r", score=direct_scores),
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


def _strongest(candidates: pl.DataFrame, people: _Side, rows: _Side, pairs: pl.DataFrame) -> pl.DataFrame:
    """One row per (physician, record): strongest kind, best score; then the fields that agree."""
    best = candidates.sort("p", "r", "kind", "score", descending=[False, False, False, True]).unique(
        subset=["p", "r"], keep="first", maintain_order=True
    )
    if best.is_empty():
        return empty_hits()
    assert people.states is not None
    same_last = (
        best.select("p", "r")
        .join(rows.last.select("r", "variant"), on="r")
        .join(people.last.select("p", "variant"), on=["p", "variant"])
        .select("p", "r", same_last=pl.lit(True))
        .unique()
    )
    described = (
        _first_name_agreement(_with_first_names(best, people, rows).lazy(), pairs)
        .collect()
        .join(people.main.select("p", "physician_id", npi_p="npi", dob_p="dob"), on="p")
        .join(rows.main.select("r", "record_key", "record_hash", "record", "state", npi_r="npi", dob_r="dob"), on="r")
        .join(same_last, on=["p", "r"], how="left")
        .join(people.states.with_columns(same_state=pl.lit(True)), on=["p", "state"], how="left")
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
    )
    # Several list rows can share a record_key (publishers repeat rows): keep one, by a total order.
    return (
        hits.sort(
            "physician_id",
            "record_key",
            "kind",
            "score",
            "record_hash",
            "record",
            pl.col("matched_fields").list.join(","),
            descending=[False, False, False, True, False, False, False],
            nulls_last=True,
        )
        .unique(subset=["physician_id", "record_key"], keep="first", maintain_order=True)
        .select(list(HIT_SCHEMA))
        .cast(HIT_SCHEMA)
    )
