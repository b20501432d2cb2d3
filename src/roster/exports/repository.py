"""The whole current roster, for export."""

from __future__ import annotations

from typing import Any

from roster.certifications.tables import Certification
from roster.imports.layout import CERTIFICATION_COLUMNS, LICENSE_COLUMNS, PHYSICIAN_COLUMNS
from roster.licenses.tables import License
from roster.physicians.tables import Physician


async def physicians() -> list[dict[str, Any]]:
    columns = [getattr(Physician, name) for name in PHYSICIAN_COLUMNS]
    return await Physician.select(*columns).order_by(Physician.npi).run()


async def licenses() -> list[dict[str, Any]]:
    columns = [License.physician.npi.as_alias("npi")] + [getattr(License, n) for n in LICENSE_COLUMNS[1:]]
    return await License.select(*columns).order_by(License.physician.npi, License.state, License.number).run()


async def certifications() -> list[dict[str, Any]]:
    columns = [Certification.physician.npi.as_alias("npi")] + [
        getattr(Certification, n) for n in CERTIFICATION_COLUMNS[1:]
    ]
    return (
        await Certification.select(*columns)
        .order_by(Certification.physician.npi, Certification.board, Certification.specialty)
        .run()
    )
