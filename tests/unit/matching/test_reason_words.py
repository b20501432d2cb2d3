"""Every reason code compliance or matching can give has words for people, and the codes keep the
contract's order."""

from __future__ import annotations

from roster.compliance.rules import COMPLIANCE_REASONS
from roster.matching.facts import MATCH_REASONS, REASON_WORDS, REASONS, TIME_REASONS, reason_words

#: api.md "Reason codes" of ``POST /api/v1/match``, in its order (the order of a reviewer's reasons).
CONTRACT = tuple(
    "inactive no_license_in_state license_expired license_restricted no_board_certification certification_lapsed "
    "excluded_oig excluded_sam precluded_cms screening_pending screening_stale recredentialing_overdue irr_overdue "
    "insufficient_experience policy_attestation_overdue npi_deactivated line_of_business specialty_mismatch "
    "prior_reviewer at_capacity "
    "off_shift on_leave cannot_meet_due".split()
)


def test_the_match_reasons_are_compliances_plus_the_cases_own_in_the_contracts_order() -> None:
    assert REASONS == CONTRACT
    assert set(REASONS) == set(COMPLIANCE_REASONS) | set(MATCH_REASONS) | set(TIME_REASONS)
    assert len(REASONS) == len(set(REASONS))


def test_every_reason_code_known_to_compliance_and_matching_has_words() -> None:
    for code in {*COMPLIANCE_REASONS, *REASONS}:
        words = REASON_WORDS.get(code)
        assert words and "_" not in words and words.endswith("."), code
        assert reason_words(code) == words
    assert set(REASON_WORDS) == set(REASONS), "no words for a code nobody gives"


def test_a_code_newer_than_the_words_is_shown_readably() -> None:
    assert reason_words("some_new_code") == "some new code"
