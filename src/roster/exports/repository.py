"""The whole current roster, for export."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from roster.certifications.tables import Certification
from roster.imports.layout import CERTIFICATION_COLUMNS, LICENSE_COLUMNS, PHYSICIAN_COLUMNS
from roster.licenses.tables import License
from roster.physicians.tables import Physician


async def physicians(ids: Sequence[UUID] | None = None) -> list[dict[str, Any]]:
    """``ids``: only these physicians (a filtered export), each row with its ``id`` so the caller can keep
    the filter's order; the caller keeps each list short (``IN``)."""
    columns = [getattr(Physician, name) for name in PHYSICIAN_COLUMNS]
    query = Physician.select(*columns)
    if ids is not None:
        query = Physician.select(Physician.id, *columns).where(Physician.id.is_in(list(ids)))
    return await query.order_by(Physician.npi).run()


async def licenses(ids: Sequence[UUID] | None = None) -> list[dict[str, Any]]:
    columns = [License.physician.npi.as_alias("npi")] + [getattr(License, n) for n in LICENSE_COLUMNS[1:]]
    query = License.select(*columns)
    if ids is not None:
        query = query.where(License.physician.is_in(list(ids)))
    return await query.order_by(License.physician.npi, License.state, License.number).run()


async def certifications(ids: Sequence[UUID] | None = None) -> list[dict[str, Any]]:
    columns = [Certification.physician.npi.as_alias("npi")] + [
        getattr(Certification, n) for n in CERTIFICATION_COLUMNS[1:]
    ]
    query = Certification.select(*columns)
    if ids is not None:
        query = query.where(Certification.physician.is_in(list(ids)))
    return await query.order_by(Certification.physician.npi, Certification.board, Certification.specialty).run()
