"""Valid request bodies, overridable per test."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from roster.physicians.npi import check_digit

TODAY = date.today()  # the suite's today: tests/suite_clock.py keeps it for the whole run


def npi(n: int) -> str:
    first_nine = f"1{n:08d}"
    return first_nine + check_digit(first_nine)


def physician(n: int = 1, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "npi": npi(n),
        "first_name": "Ada",
        "last_name": f"Reviewer{n:04d}",
        "date_of_birth": "1970-05-17",
        "degree": "MD",
        "clinical_practice_start": "2001-07-01",
        "languages": ["en", "es"],
        "lines_of_business": ["medicare_advantage", "commercial"],
        "specialties": ["medical_oncology"],
        "credentialed_on": (TODAY - timedelta(days=200)).isoformat(),
        "irr_passed_on": (TODAY - timedelta(days=100)).isoformat(),
    }
    body.update(overrides)
    return body


def license(state: str = "AZ", number: str = "MD12345", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "state": state,
        "number": number,
        "license_type": "MD",
        "status": "active",
        "restricted": False,
        "issued_on": "2010-01-01",
        "expires_on": (TODAY + timedelta(days=400)).isoformat(),
        "verified_on": TODAY.isoformat(),
        "verification_source": "state_board_website",
    }
    body.update(overrides)
    return body


def certification(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "board": "ABIM",
        "specialty": "medical_oncology",
        "certified_on": "2008-09-01",
        "expires_on": None,
        "time_unlimited": False,
        "moc_status": "meeting",
    }
    body.update(overrides)
    return body


LEIE_HEADER = (
    "LASTNAME,FIRSTNAME,MIDNAME,BUSNAME,GENERAL,SPECIALTY,UPIN,NPI,DOB,ADDRESS,CITY,STATE,ZIP,"
    "EXCLTYPE,EXCLDATE,REINDATE,WAIVERDATE,WVRSTATE"
)


def leie_file(npi: str, last: str = "LISTED") -> bytes:
    """A one-row LEIE ``UPDATED.csv`` in the publisher's quoted format, excluding ``npi``."""
    row = [last, "PAT", "", "", "", "", "", npi, "", "", "", "AZ", "", "1128b4", "20240101", "00000000", "00000000", ""]
    return (LEIE_HEADER + "\n" + ",".join(f'"{v}"' for v in row) + "\n").encode()
