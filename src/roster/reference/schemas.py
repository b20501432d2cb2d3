from __future__ import annotations

import msgspec


class SpecialtyRead(msgspec.Struct, frozen=True):
    slug: str
    name: str
    nucc_codes: list[str]
    boards: list[str]
    similarity_group: str
    physician: bool
