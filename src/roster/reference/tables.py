from piccolo.columns import Array, Boolean, Text, Varchar
from piccolo.table import Table


class Specialty(Table, tablename="specialty"):
    """Loaded from ``fixtures/specialties.csv``; the similarity group drives same-or-similar matching."""

    slug = Varchar(length=64, primary_key=True)
    name = Varchar(length=200)
    nucc_codes = Array(base_column=Varchar(length=10))
    boards = Array(base_column=Varchar(length=16))
    similarity_group = Varchar(length=64, index=True)
    #: Pharmacists and other non-physicians are never same-or-similar to a physician specialty.
    physician = Boolean(default=True)


class StateRule(Table, tablename="state_rule"):
    """One row per USPS jurisdiction, loaded from ``fixtures/state_rules.csv``."""

    state = Varchar(length=2, primary_key=True)
    name = Varchar(length=100)
    kind = Varchar(length=16)
    requires_in_state_license = Boolean(default=False)
    #: Review types the in-state requirement applies to (e.g. ``initial`` for adverse PA decisions).
    review_types = Array(base_column=Varchar(length=16))
    license_types = Array(base_column=Varchar(length=2))
    citation = Text(default="")
