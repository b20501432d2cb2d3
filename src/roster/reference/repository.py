from __future__ import annotations

from typing import Any

from roster.reference.tables import Specialty, StateRule


async def all_specialties() -> list[dict[str, Any]]:
    return await Specialty.select().order_by(Specialty.slug).run()


async def all_state_rules() -> list[dict[str, Any]]:
    return await StateRule.select().order_by(StateRule.state).run()


async def state_exists(state: str) -> bool:
    return await StateRule.exists().where(StateRule.state == state).run()


async def replace_specialties(rows: list[dict[str, Any]]) -> None:
    await _replace(Specialty, Specialty.slug, rows)


async def replace_state_rules(rows: list[dict[str, Any]]) -> None:
    await _replace(StateRule, StateRule.state, rows)


async def _replace(table: Any, key: Any, rows: list[dict[str, Any]]) -> None:
    """Upsert by key and drop rows the fixture no longer has; callers hold the write transaction."""
    name = key._meta.name
    wanted = {row[name] for row in rows}
    existing = {r[name] for r in await table.select(key).run()}
    stale = existing - wanted
    if stale:
        await table.delete().where(key.is_in(list(stale))).run()
    for row in rows:
        if row[name] in existing:
            await (
                table.update({getattr(table, k): v for k, v in row.items() if k != name}).where(key == row[name]).run()
            )
        else:
            await table.insert(table(**row)).run()
