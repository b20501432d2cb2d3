"""Name normalisation and name variants for exclusion matching (rules.md §4).

A name is normalised by: upper-casing; decomposing (NFKD) and dropping the accent marks; spelling
out the few Latin letters that do not decompose (Ø, Æ, Œ, Ł, Đ, Þ, ẞ ...); deleting apostrophes
and periods (``O'BRIEN`` -> ``OBRIEN``, ``M.D.`` -> ``MD``); turning every other non-letter (hyphen,
comma, digit, any space) into a space; collapsing spaces; and dropping the suffix tokens
JR SR II III IV MD DO wherever they stand except first (so the surname ``DO`` survives, ``SMITH JR``
does not keep its ``JR``).

:func:`normalize_name` (one Python string) and :func:`normalized` (a polars expression) implement the
same steps and agree on every input (tested with hypothesis). Both are idempotent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import polars as pl

#: Tokens dropped from a name when they are not its first token.
SUFFIXES: tuple[str, ...] = ("JR", "SR", "II", "III", "IV", "MD", "DO")

#: Surname particles that are never a last-name variant on their own ("DE LA CRUZ" -> not "DE", "LA").
PARTICLES: frozenset[str] = frozenset(
    {
        "AL", "BEN", "BIN", "DA", "DAL", "DAS", "DE", "DEL", "DELA", "DELLA", "DEN", "DER", "DES", "DI", "DOS",
        "DU", "EL", "IBN", "LA", "LAS", "LOS", "MAC", "MC", "SAN", "ST", "TEN", "TER", "VAN", "VON",
    }
)  # fmt: skip

#: Upper-case letters with no NFKD decomposition to A-Z, spelled out.
_SPELLED: dict[str, str] = {
    "Æ": "AE",
    "Œ": "OE",
    "Ø": "O",
    "Ł": "L",
    "Đ": "D",
    "Ð": "D",
    "Þ": "TH",
    "ẞ": "SS",
    "Ħ": "H",
    "Ŧ": "T",
    "Ŋ": "N",
    "Ɨ": "I",
    "Ƶ": "Z",
}
#: Apostrophe-like characters and the period, deleted rather than turned into a space
#: ("O'BRIEN" -> "OBRIEN", "M.D." -> "MD", then dropped as a suffix).
_APOSTROPHES = ".'`\u2018\u2019\u02bc\u02b9\u02bb"

_MARKS_RE = r"\p{M}"
_APOSTROPHES_RE = "[" + re.escape(_APOSTROPHES) + "]"
_NON_LETTERS_RE = r"[^A-Z]+"
_SUFFIX_RE = r" (?:" + "|".join(SUFFIXES) + r")\b"

_APOSTROPHES_PY = re.compile(_APOSTROPHES_RE)
_NON_LETTERS_PY = re.compile(_NON_LETTERS_RE)
_SUFFIX_PY = re.compile(_SUFFIX_RE)


def normalize_name(text: str | None) -> str:
    """The normalised form of one name ("" for ``None`` or a name with no letters)."""
    if text is None:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.upper())
    unmarked = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    spelled = "".join(_SPELLED.get(c, c) for c in unmarked)
    letters = _NON_LETTERS_PY.sub(" ", _APOSTROPHES_PY.sub("", spelled)).strip()
    return _SUFFIX_PY.sub("", letters)


def normalized(expr: pl.Expr) -> pl.Expr:
    """:func:`normalize_name` as a polars expression; null stays null."""
    return (
        expr.str.to_uppercase()
        .str.normalize("NFKD")
        .str.replace_all(_MARKS_RE, "")
        .str.replace_many(_SPELLED)
        .str.replace_all(_APOSTROPHES_RE, "")
        .str.replace_all(_NON_LETTERS_RE, " ")
        .str.strip_chars(" ")
        .str.replace_all(_SUFFIX_RE, "")
    )


# -- last-name variants ------------------------------------------------------------------------


def _parts(name: str) -> list[str]:
    return [part for part in name.split(" ") if len(part) > 1 and part not in PARTICLES]


def last_name_variants(
    last_name: str | None, former_last_names: Iterable[str | None] = (), *, parts: bool = True
) -> set[str]:
    """Every form under which a last name is looked for: the whole normalised name, the name with its
    spaces removed ("DE LA CRUZ" -> "DELACRUZ"), each hyphen/space part (when ``parts``), and the same
    for each former last name. Empty names yield nothing."""
    found: set[str] = set()
    for name in (last_name, *former_last_names):
        norm = normalize_name(name)
        if not norm:
            continue
        found.update((norm, norm.replace(" ", "")))
        if parts:
            found.update(_parts(norm))
    return found


def last_name_variant_rows(
    frame: pl.DataFrame, key: str, last_name: str, former_last_names: str | None = None
) -> pl.DataFrame:
    """:func:`last_name_variants` for every row of ``frame`` at once, in long form.

    ``key`` identifies the row, ``last_name`` is a String column and ``former_last_names`` an optional
    ``List(String)`` column. Returns ``key``, ``variant`` (String) and ``whole`` (Boolean: the variant is
    a whole name or a whole name without spaces, not a part of one), one row per (key, variant), in no
    particular order.
    """
    names = [frame.select(key, name=pl.col(last_name))]
    if former_last_names is not None:
        names.append(frame.select(key, name=pl.col(former_last_names)).explode("name"))
    raw = pl.concat(names).filter(pl.col("name").is_not_null())
    # Names repeat a lot: the variants are worked out once per distinct name, then joined onto the rows.
    distinct = raw.select(raw=pl.col("name").unique())
    whole = distinct.with_columns(name=normalized(pl.col("raw"))).filter(pl.col("name") != "")
    # only a name of several words has a spaceless form and parts distinct from itself
    several = whole.filter(pl.col("name").str.contains(" ", literal=True))
    parts = (
        several.select("raw", variant=pl.col("name").str.split(" "))
        .explode("variant")
        .filter(pl.col("variant").str.len_chars() > 1, ~pl.col("variant").is_in(sorted(PARTICLES)))
    )
    spaceless = pl.col("name").str.replace_all(" ", "", literal=True)
    variants = (
        pl.concat(
            [
                whole.select("raw", variant="name", whole=pl.lit(True)),
                several.select("raw", variant=spaceless, whole=pl.lit(True)),
                parts.with_columns(whole=pl.lit(False)),
            ]
        )
        .group_by("raw", "variant")
        .agg(pl.col("whole").any())
    )
    rows = raw.join(variants, left_on="name", right_on="raw").select(key, "variant", "whole")
    if former_last_names is not None:  # two names of one row may share a variant
        rows = rows.group_by(key, "variant").agg(pl.col("whole").any())
    return rows.cast({"variant": pl.String(), "whole": pl.Boolean()})


def normalized_column(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """``frame`` with ``column`` normalised, computing each distinct value once (names repeat a lot)."""
    distinct = frame.select(pl.col(column).unique().alias("_raw"))
    mapping = distinct.with_columns(normalized(pl.col("_raw")).alias("_norm"))
    return (
        frame.with_columns(pl.col(column).alias("_raw"))
        .join(mapping, on="_raw", how="left", nulls_equal=True, maintain_order="left")
        .with_columns(pl.col("_norm").alias(column))
        .drop("_raw", "_norm")
    )


# -- first names -------------------------------------------------------------------------------


def _published_nicknames() -> pl.DataFrame:
    """The ``nicknames`` package's curated English table (Carlton Northern's, Apache-2.0): ~2,700
    name/nickname pairs, where a hand-kept list held 165."""
    with resources.as_file(resources.files("nicknames") / "names.csv") as path:
        raw = pl.read_csv(path, schema={"name1": pl.String(), "relationship": pl.String(), "name2": pl.String()})
    return raw.filter(pl.col("relationship") == "has_nickname").select(name="name1", nickname="name2")


def load_nicknames(path: Path, *, published: bool = True) -> pl.DataFrame:
    """The ``name,nickname`` CSV at ``path`` (the project's own additions: Spanish, South Asian and other
    diminutives the English table lacks) merged with the published table (unless ``published`` is
    false), as normalised ``name``/``nickname`` String columns, de-duplicated and sorted (self-pairs and
    blank cells dropped)."""
    raw = pl.read_csv(path, schema={"name": pl.String(), "nickname": pl.String()})
    if published:
        raw = pl.concat([raw, _published_nicknames()])
    return (
        raw.select(normalized(pl.col("name")).alias("name"), normalized(pl.col("nickname")).alias("nickname"))
        .filter(
            pl.col("name").is_not_null(),
            pl.col("nickname").is_not_null(),
            pl.col("name") != "",
            pl.col("nickname") != "",
            pl.col("name") != pl.col("nickname"),
        )
        .unique()
        .sort("name", "nickname")
    )


def nickname_pairs(nicknames: pl.DataFrame) -> pl.DataFrame:
    """Ordered pairs ``(a, b)`` of distinct first names that count as the same person's name: a name
    and its nickname in either direction, and two shorter nicknames of one name (BOB ~ ROB via ROBERT)."""
    pairs = nicknames.select(pl.col("name").alias("a"), pl.col("nickname").alias("b"))
    # Only through a formal name, longer than both: the published table also lists the way back
    # (BILL -> ROBERT, BILL -> WILLIAM), which would otherwise make ROBERT and WILLIAM one name.
    longer = pl.col("name").str.len_chars()
    siblings = (
        nicknames.join(nicknames, on="name", suffix="_2")
        .filter(longer > pl.col("nickname").str.len_chars(), longer > pl.col("nickname_2").str.len_chars())
        .select(pl.col("nickname").alias("a"), pl.col("nickname_2").alias("b"))
        .filter(pl.col("a") != pl.col("b"))
    )
    return pl.concat([pairs, pairs.select(a="b", b="a"), siblings]).unique().sort("a", "b")


def first_token(expr: pl.Expr) -> pl.Expr:
    """The first word of a normalised name."""
    return expr.str.split(" ").list.first()
