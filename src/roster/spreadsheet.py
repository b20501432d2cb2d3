"""Text cells a spreadsheet will not run: every CSV and XLSX the service writes escapes through here.

Excel, LibreOffice and Google Sheets read a cell starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return as a formula (OWASP "CSV Injection"), so :func:`escape` puts a single quote in
front of it. A value that already is quotes followed by one of those characters gets one more
quote, so :func:`unescape` (the roster import) takes exactly one quote off ``'=``, ``''=``, ... and
touches nothing else: ``unescape(escape(x)) == x`` for any text, and ``'O'Neil`` stays as it is.
"""

from __future__ import annotations

import polars as pl

#: The first characters that make a cell a formula.
FORMULA_START = "=+-@\t\r"
_NEEDS_QUOTE = r"^'*[=+\-@\t\r]"
_QUOTED = r"^'+[=+\-@\t\r]"


def escape(cell: pl.Expr) -> pl.Expr:
    """The text with a leading quote where a spreadsheet would otherwise see a formula."""
    return pl.when(cell.str.contains(_NEEDS_QUOTE)).then(pl.concat_str([pl.lit("'"), cell])).otherwise(cell)


def is_escaped(cell: pl.Expr) -> pl.Expr:
    """Whether :func:`escape` put the leading quote there (or a person did, to the same effect)."""
    return cell.str.contains(_QUOTED)


def unescape(cell: pl.Expr) -> pl.Expr:
    """The inverse of :func:`escape`: the leading quote off an escaped cell, any other text unchanged."""
    return pl.when(is_escaped(cell)).then(cell.str.slice(1)).otherwise(cell)


def escape_text(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every String column escaped (typed numbers and dates are never formulas)."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(escape(pl.col(name)).alias(name) for name in text)
