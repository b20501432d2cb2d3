"""Matching rules (rules.md §2) as pure functions of facts, a case and a date: no I/O, no clock.

``evaluate`` is the reference definition; the in-memory index (``index.py``) must agree with it.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol
from uuid import UUID

from roster.compliance.facts import LicenseFact
from roster.compliance.rules import (
    SOURCE_CHECKS,
    certification_is_current,
    check_active,
    check_board_certification,
    check_experience,
    check_irr,
    check_npi,
    check_recredentialing,
    check_screening,
    license_is_valid,
    license_miss,
)
from roster.matching.facts import REASONS, Case, Decision, MatchRules, ReviewerFacts

_ORDER = {reason: i for i, reason in enumerate(REASONS)}


def _license(facts: ReviewerFacts, case: Case, as_of: date, rules: MatchRules) -> tuple[LicenseFact | None, str | None]:
    """The license relied on, or the nearest miss."""
    relied = relied_license(facts, case, as_of, rules)
    if relied is not None:
        return relied, None
    required = rules.required_license_state(case)
    return None, license_miss([lic for lic in facts.compliance.licenses if required in (None, lic.state)], as_of)


def relied_license(facts: ReviewerFacts, case: Case, as_of: date, rules: MatchRules) -> LicenseFact | None:
    """The license a decision relies on: the latest-expiring valid one where the case requires (then one
    in the case's state, then by state and id, so the choice never depends on load order)."""
    required = rules.required_license_state(case)
    valid = [lic for lic in facts.compliance.licenses if required in (None, lic.state) and license_is_valid(lic, as_of)]
    if not valid:
        return None
    return max(valid, key=lambda lic: (lic.expires_on, lic.state == case.state, lic.state, lic.id))


def _specialty(facts: ReviewerFacts, case: Case, as_of: date, rules: MatchRules) -> tuple[str | None, str | None]:
    """``(same|similar|None, certification|attestation|None)``: current certifications first, then attestation."""
    groups = rules.specialty_groups
    wanted = groups.get(case.specialty)
    if wanted is None:
        return None, None
    current = [c for c in facts.compliance.certifications if certification_is_current(c, as_of)]
    certified = {c.specialty for c in current if c.specialty in groups}
    attested = {s for s in facts.specialties if s in groups}
    if case.specialty in certified:
        return "same", "certification"
    if case.specialty in attested:
        return "same", "attestation"
    if any(groups[s] == wanted for s in certified):
        return "similar", "certification"
    if any(groups[s] == wanted for s in attested):
        return "similar", "attestation"
    return None, None


def compliance_reasons(facts: ReviewerFacts, as_of: date, rules: MatchRules) -> list[str]:
    """The §1 reasons that do not depend on the case (the license check is jurisdictional, see ``evaluate``)."""
    c = facts.compliance
    screening = {s.source: s for s in c.screening}
    checks = [
        check_active(c.status),
        check_board_certification(c.certifications, as_of),
        *(check_screening(source, screening.get(source), as_of, rules.policy) for source in SOURCE_CHECKS),
        check_npi(c.npi, c.npi_status),
        check_recredentialing(c.credentialed_on, as_of),
        check_irr(c.irr_passed_on, as_of),
        check_experience(c.clinical_practice_start, as_of),
    ]
    return [check.reason for check in checks if not check.ok and check.reason is not None]


def evaluate(facts: ReviewerFacts, case: Case, as_of: date, rules: MatchRules) -> Decision:
    """Every failing reason for this physician on this case as of ``as_of`` (empty: eligible)."""
    reasons = set(compliance_reasons(facts, as_of, rules))
    license, miss = _license(facts, case, as_of, rules)
    if miss is not None:
        reasons.add(miss)
    if case.line_of_business not in facts.lines_of_business:
        reasons.add("line_of_business")
    match, source = _specialty(facts, case, as_of, rules)
    if match is None:
        reasons.add("specialty_mismatch")
    involved = facts.id in case.prior_reviewer_ids
    if involved and case.review_type == "appeal":
        reasons.add("prior_reviewer")
    if facts.open_cases >= facts.max_open_cases:
        reasons.add("at_capacity")
    return Decision(
        physician_id=facts.id,
        reasons=tuple(sorted(reasons, key=_ORDER.__getitem__)),
        specialty_match=match,
        specialty_source=source,
        license=license,
        certifications=tuple(c for c in facts.compliance.certifications if certification_is_current(c, as_of)),
        prior_reviewer_first=involved and case.review_type == "peer_to_peer",
        speaks_language=case.language is not None and case.language in facts.languages,
        open_cases=facts.open_cases,
        max_open_cases=facts.max_open_cases,
    )


class Ranked(Protocol):
    """What ranks an eligible reviewer: a ``Decision``, or the index's ``Placement`` of the same reviewer."""

    @property
    def specialty_match(self) -> str | None: ...
    @property
    def prior_reviewer_first(self) -> bool: ...
    @property
    def speaks_language(self) -> bool: ...
    @property
    def open_cases(self) -> int: ...
    @property
    def max_open_cases(self) -> int: ...


def load(decision: Ranked) -> float:
    """Share of the reviewer's capacity in use (a reviewer with no capacity is fully loaded)."""
    return decision.open_cases / decision.max_open_cases if decision.max_open_cases > 0 else 1.0


def rank_key(decision: Decision, npi: str) -> tuple[bool, bool, bool, float, str, UUID]:
    """rules.md §2 ranking, smallest first: prior reviewer (peer-to-peer), same specialty, language, load, NPI
    (then the id, so the order never depends on the order physicians were read in).

    Never a reviewer's past approval or denial rate (29 CFR 2590.715-2719).
    """
    return (
        not decision.prior_reviewer_first,
        decision.specialty_match != "same",
        not decision.speaks_language,
        load(decision),
        npi,
        decision.physician_id,
    )


def score(decision: Ranked) -> float:
    """A 0-1 figure that orders like ``rank_key`` (each criterion outweighs all the later ones together)."""
    points = (
        8 * decision.prior_reviewer_first
        + 4 * (decision.specialty_match == "same")
        + 2 * decision.speaks_language
        + (1 - min(load(decision), 1.0))
    )
    return round(points / 15, 4)


def rank(decisions: list[tuple[Decision, str]]) -> list[Decision]:
    """Eligible decisions in ranking order, given ``(decision, npi)`` pairs."""
    return [d for d, npi in sorted(decisions, key=lambda pair: rank_key(*pair)) if d.eligible]
