from __future__ import annotations

import msgspec


class SpecialtyRead(msgspec.Struct, frozen=True):
    slug: str
    name: str
    nucc_codes: list[str]
    boards: list[str]
    similarity_group: str
    physician: bool


class StateRuleRead(msgspec.Struct, frozen=True):
    state: str
    name: str
    kind: str
    requires_in_state_license: bool
    review_types: list[str]
    license_types: list[str]
    citation: str
