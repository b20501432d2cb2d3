"""FHIR R4 resources built from roster records: pure functions of data and ``today`` (no I/O, no clock).

A physician becomes a ``Practitioner`` (NPI identifier, names, one ``qualification`` per license and
board certification); every primary-source check becomes a ``VerificationResult`` that targets it:
license and certification verifications, the latest screening against each exclusion list, and the
latest clear NPPES answer. Statuses come from the same rules as ``/compliance``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from roster.compliance.facts import CertificationFact, CompliancePolicy, LicenseFact, ScreeningFact
from roster.compliance.rules import (
    certification_is_current,
    check_screening,
    license_is_valid,
    recredentialing_due,
)
from roster.reference.schemas import SpecialtyRead

Resource = dict[str, Any]

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
NUCC_SYSTEM = "http://nucc.org/provider-taxonomy"
DEGREE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0360"
USPS_SYSTEM = "https://www.usps.com/"
LANGUAGE_SYSTEM = "urn:ietf:bcp:47"
#: Da Vinci / NDH practitioner-qualification extension: the qualification's status and where it is valid.
QUALIFICATION_EXT = "http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-practitioner-qualification"
#: The project's own extension on a screening VerificationResult, one per hit that weighs on the physician
#: (pending or confirmed): the hit (``hit``, ``status``, ``matchKind``, ``score``) and how each field of the
#: list row compared with the physician's (``npi``, ``dob``, ``last_name``, ``first_name``, ... as codes).
SCREENING_EVIDENCE_EXT = "https://roster.dev/fhir/StructureDefinition/screening-evidence"
_TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"

DEGREES = {"MD": "Doctor of Medicine", "DO": "Doctor of Osteopathy"}
#: Stable VerificationResult ids: the same check exports under the same id every time.
_VERIFICATION_NS = uuid.UUID("5f0f5c0e-6a43-4c43-9a8e-1f5e0a6c7b21")

#: Per screening source: the primary source's name as a partner would recognise it.
SCREENING_SOURCES = {
    "oig_leie": "HHS OIG List of Excluded Individuals/Entities (LEIE)",
    "sam": "SAM.gov exclusions (GSA System for Award Management)",
    "cms_preclusion": "CMS Preclusion List",
}
#: Compliance reason code -> VerificationResult.status.
_SCREENING_STATUS = {
    "excluded_oig": "val-fail",
    "excluded_sam": "val-fail",
    "precluded_cms": "val-fail",
    "screening_pending": "in-process",
    "screening_stale": "req-revalid",
}


class Screened(msgspec.Struct, frozen=True):
    """The physician's standing on one list and when the run that screened them finished."""

    fact: ScreeningFact
    screened_at: datetime | None
    #: The hits on this list that weigh on the physician (pending or confirmed), with their ``evidence``.
    hits: Sequence[Mapping[str, Any]] = ()


class PractitionerFile(msgspec.Struct, frozen=True):
    """Everything exported for one physician (rows as the repositories return them)."""

    physician: Mapping[str, Any]
    licenses: Sequence[Mapping[str, Any]] = ()
    certifications: Sequence[Mapping[str, Any]] = ()
    screening: Sequence[Screened] = ()
    #: The latest NPPES check that gave a clear answer, if any.
    npi_check: Mapping[str, Any] | None = None


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)]}


def _term(code_system: str, code: str) -> dict[str, Any]:
    return _concept(_TERMINOLOGY + code_system, code)


def instant(at: datetime) -> str:
    """FHIR ``instant``/``dateTime``: always with a zone (a naive value from the database is UTC)."""
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _period(start: date | None, end: date | None) -> dict[str, str]:
    period = {}
    if start is not None:
        period["start"] = start.isoformat()
    if end is not None:
        period["end"] = end.isoformat()
    return period


def _qualification_status(active: bool, state: str | None = None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"url": "status", "valueCode": "active" if active else "inactive"}]
    if state is not None:
        parts.append({"url": "whereValid", "valueCodeableConcept": _concept(USPS_SYSTEM, state)})
    return {"url": QUALIFICATION_EXT, "extension": parts}


def _hit_evidence(hit: Mapping[str, Any]) -> dict[str, Any]:
    """A hit as a :data:`SCREENING_EVIDENCE_EXT`: what would make a partner ask "why is this in process?"."""
    parts: list[dict[str, Any]] = [
        {"url": "hit", "valueId": str(hit["id"])},
        {"url": "status", "valueCode": hit["status"]},
        {"url": "matchKind", "valueCode": hit["match_kind"]},
        {"url": "score", "valueDecimal": round(float(hit["score"]), 4)},
    ]
    for field, compared in (hit.get("evidence") or {}).items():
        if isinstance(compared, str) and compared.strip():  # a code: never empty, never padded
            parts.append({"url": field, "valueCode": compared.strip()})
    return {"url": SCREENING_EVIDENCE_EXT, "extension": parts}


def practitioner_ref(physician_id: UUID | str) -> dict[str, str]:
    return {"reference": f"Practitioner/{physician_id}"}


def verification_id(kind: str, subject: UUID | str) -> str:
    return str(uuid.uuid5(_VERIFICATION_NS, f"{kind}/{subject}"))


def _names(p: Mapping[str, Any]) -> list[dict[str, Any]]:
    given = [g for g in (p["first_name"], p.get("middle_name")) if g]
    official: dict[str, Any] = {"use": "official", "family": p["last_name"], "given": given}
    if p.get("suffix"):
        official["suffix"] = [p["suffix"]]
    official["text"] = " ".join([*given, p["last_name"], *([p["suffix"]] if p.get("suffix") else [])])
    former = [{"use": "old", "family": last, "given": given} for last in p.get("former_last_names") or []]
    return [official, *former]


def license_qualification(lic: Mapping[str, Any], state_names: Mapping[str, str], today: date) -> Resource:
    state = lic["state"]
    status = lic["status"] + (", restricted" if lic["restricted"] else "")
    degree = lic["license_type"]
    return {
        "id": str(lic["id"]),
        "extension": [_qualification_status(license_is_valid(_license_fact(lic), today), state)],
        "identifier": [{"value": lic["number"]}],
        "code": {
            "coding": [_coding(DEGREE_SYSTEM, degree, DEGREES.get(degree))],
            "text": f"{state} medical license {lic['number']} ({status})",
        },
        "period": _period(lic["issued_on"], lic["expires_on"]),
        "issuer": {"display": f"{state_names.get(state, state)} ({state}) medical licensing board"},
    }


def certification_qualification(
    cert: Mapping[str, Any], specialties: Mapping[str, SpecialtyRead], today: date
) -> Resource:
    specialty = specialties.get(cert["specialty"])
    name = specialty.name if specialty else cert["specialty"]
    codings = [_coding(NUCC_SYSTEM, code, name) for code in (specialty.nucc_codes if specialty else [])]
    code: dict[str, Any] = {"text": f"{cert['board']} board certification in {name}"}
    if codings:
        code = {"coding": codings, **code}
    return {
        "id": str(cert["id"]),
        "extension": [_qualification_status(certification_is_current(_certification_fact(cert), today))],
        "code": code,
        "period": _period(cert["certified_on"], cert["expires_on"]),
        "issuer": {"display": cert["board"]},
    }


def practitioner(
    file: PractitionerFile,
    state_names: Mapping[str, str],
    specialties: Mapping[str, SpecialtyRead],
    today: date,
) -> Resource:
    p = file.physician
    resource: Resource = {
        "resourceType": "Practitioner",
        "id": str(p["id"]),
        "meta": {"lastUpdated": instant(p["updated_at"])},
        "identifier": [{"use": "official", "system": NPI_SYSTEM, "value": p["npi"]}],
        "active": p["status"] == "active",
        "name": _names(p),
    }
    if p.get("email"):
        resource["telecom"] = [{"system": "email", "value": p["email"], "use": "work"}]
    resource["birthDate"] = p["date_of_birth"].isoformat()
    qualifications = [
        *(license_qualification(lic, state_names, today) for lic in sorted(file.licenses, key=_by_id)),
        *(certification_qualification(c, specialties, today) for c in sorted(file.certifications, key=_by_id)),
    ]
    if qualifications:
        resource["qualification"] = qualifications
    if p.get("languages"):
        resource["communication"] = [_concept(LANGUAGE_SYSTEM, lang) for lang in p["languages"]]
    return resource


def _by_id(row: Mapping[str, Any]) -> str:
    return str(row["id"])


def _license_fact(row: Mapping[str, Any]) -> LicenseFact:
    return msgspec.convert(dict(row), LicenseFact, strict=False)


def _certification_fact(row: Mapping[str, Any]) -> CertificationFact:
    return msgspec.convert(dict(row), CertificationFact, strict=False)


def _verification(
    physician_id: UUID | str,
    vid: str,
    *,
    status: str,
    status_at: date | datetime | None,
    source_type: str,
    source_name: str,
    validated_on: date | datetime | None,
    failed: bool,
    next_scheduled: date | None,
    target_location: str | None,
    need: str = "periodic",
    monthly: bool = False,
    extension: Sequence[Resource] = (),
) -> Resource:
    source: dict[str, Any] = {"who": {"display": source_name}, "type": [_term("primary-source-type", source_type)]}
    resource: Resource = {"resourceType": "VerificationResult", "id": vid}
    if extension:
        resource["extension"] = list(extension)
    resource["target"] = [practitioner_ref(physician_id)]
    if target_location is not None:
        resource["targetLocation"] = [target_location]
    resource["need"] = _term("need", need)
    resource["status"] = status
    if status == "attested":
        # On file from the application only: no primary source has been asked yet.
        resource["validationType"] = _term("validation-type", "nothing")
    else:
        resource["validationType"] = _term("validation-type", "primary")
        resource["validationProcess"] = [_term("validation-process", "primary")]
        source["validationStatus"] = _term("validation-status", "failed" if failed else "successful")
    stamp = _date_time(status_at)
    if stamp is not None:
        resource["statusDate"] = stamp
        resource["lastPerformed"] = stamp
    if validated_on is not None and status != "attested":
        source["validationDate"] = _date_time(validated_on)
    if monthly:
        resource["frequency"] = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "mo"}}
    if next_scheduled is not None:
        resource["nextScheduled"] = next_scheduled.isoformat()
    resource["failureAction"] = _term("failure-action", "fatal")
    resource["primarySource"] = [source]
    return resource


def _date_time(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    return instant(value) if isinstance(value, datetime) else value.isoformat()


def license_verification(physician_id: UUID | str, lic: Mapping[str, Any], today: date) -> Resource:
    """``attested`` until a board confirms it; then ``validated``, ``req-revalid`` once expired, else ``val-fail``."""
    fact = _license_fact(lic)
    if lic["verified_on"] is None:
        status = "attested"
    elif license_is_valid(fact, today):
        status = "validated"
    elif fact.expires_on < today:
        status = "req-revalid"
    else:
        status = "val-fail"  # the board reports it restricted, suspended, revoked, on probation or inactive
    return _verification(
        physician_id,
        verification_id("license", lic["id"]),
        status=status,
        status_at=lic["verified_on"],
        source_type="lic-board",
        source_name=lic["verification_source"] or f"{lic['state']} medical licensing board",
        validated_on=lic["verified_on"],
        failed=status == "val-fail",
        next_scheduled=fact.expires_on,
        target_location=f"Practitioner.qualification.where(id = '{lic['id']}')",
    )


def certification_verification(
    physician_id: UUID | str, cert: Mapping[str, Any], credentialed_on: date | None, today: date
) -> Resource:
    """Next check: the certificate's end, or for one without an end the physician's recredentialing due date."""
    fact = _certification_fact(cert)
    if cert["verified_on"] is None:
        status = "attested"
    elif certification_is_current(fact, today):
        status = "validated"
    elif fact.expires_on is not None and fact.expires_on < today:
        status = "req-revalid"
    else:
        status = "val-fail"  # MOC not met, or the board lists it lapsed, suspended or revoked
    next_check = fact.expires_on
    if next_check is None and credentialed_on is not None:
        next_check = recredentialing_due(credentialed_on)
    return _verification(
        physician_id,
        verification_id("certification", cert["id"]),
        status=status,
        status_at=cert["verified_on"],
        source_type="issuer",
        source_name=cert["verification_source"] or cert["board"],
        validated_on=cert["verified_on"],
        failed=status == "val-fail",
        next_scheduled=next_check,
        target_location=f"Practitioner.qualification.where(id = '{cert['id']}')",
    )


def screening_verification(
    physician_id: UUID | str, screened: Screened, today: date, policy: CompliancePolicy
) -> Resource | None:
    """Status from the compliance check of that list; nothing when the physician was never screened against it.
    Each hit behind an ``in-process`` or ``val-fail`` status carries its evidence (:data:`SCREENING_EVIDENCE_EXT`)."""
    fact = screened.fact
    if fact.snapshot_loaded_on is None and not fact.pending_hits and not fact.confirmed_hits:
        return None
    check = check_screening(fact.source, fact, today, policy)
    status = "validated" if check.ok else _SCREENING_STATUS.get(check.reason or "", "req-revalid")
    # The next screening is due before the list screened against grows older than the policy allows.
    loaded = fact.snapshot_loaded_on
    next_check = loaded + timedelta(days=policy.screening_max_age_days) if loaded is not None else None
    return _verification(
        physician_id,
        verification_id(f"screening/{fact.source}", physician_id),
        status=status,
        status_at=screened.screened_at,
        source_type="reg-auth",
        source_name=SCREENING_SOURCES.get(fact.source, fact.source),
        validated_on=fact.snapshot_loaded_on,
        failed=status == "val-fail",
        next_scheduled=next_check,
        target_location=None,
        monthly=True,
        extension=[_hit_evidence(hit) for hit in screened.hits],
    )


def npi_verification(physician_id: UUID | str, check: Mapping[str, Any]) -> Resource:
    active = check["npi_status"] == "active"
    return _verification(
        physician_id,
        verification_id("npi", physician_id),
        status="validated" if active else "val-fail",
        status_at=check["checked_at"],
        source_type="auth-source",
        source_name="CMS National Plan and Provider Enumeration System (NPPES)",
        validated_on=check["checked_at"],
        failed=not active,
        next_scheduled=None,
        target_location=f"Practitioner.identifier.where(system = '{NPI_SYSTEM}')",
    )


def verification_results(file: PractitionerFile, today: date, policy: CompliancePolicy) -> list[Resource]:
    p = file.physician
    results = [license_verification(p["id"], lic, today) for lic in sorted(file.licenses, key=_by_id)]
    results += [
        certification_verification(p["id"], c, p.get("credentialed_on"), today)
        for c in sorted(file.certifications, key=_by_id)
    ]
    results += [r for s in file.screening if (r := screening_verification(p["id"], s, today, policy)) is not None]
    if file.npi_check is not None:
        results.append(npi_verification(p["id"], file.npi_check))
    return results


#: When what this server can do last changed (CapabilityStatement.date).
CAPABILITY_DATE = "2026-11-23"


def capability_statement(base: str, version: str) -> Resource:
    """What a FHIR client may ask this server (``GET /fhir/metadata``)."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": CAPABILITY_DATE,
        "publisher": "Roster",
        "kind": "instance",
        "software": {"name": "Roster", "version": version},
        "implementation": {"description": "Roster physician-reviewer credentials (read-only)", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {"description": "Every call but this one needs `Authorization: Bearer <API key>`."},
                "resource": [
                    {
                        "type": "Practitioner",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": "_id", "type": "token", "documentation": "comma-separated ids"},
                            {
                                "name": "identifier",
                                "type": "token",
                                "documentation": f"NPI, as {NPI_SYSTEM}|<NPI> or <NPI>; comma-separated",
                            },
                        ],
                        "searchRevInclude": ["VerificationResult:target"],
                        "documentation": (
                            "A search returns each Practitioner's VerificationResults (search.mode include) "
                            "without being asked; page with _count (1-500) and the Bundle's next link."
                        ),
                    }
                ],
            }
        ],
    }
