"""The contract's vocabulary (api.md "Vocabulary") as types the schemas and OpenAPI share."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

StateCode = Annotated[
    str, Meta(pattern=r"^[A-Z]{2}$", description="USPS code of a state, DC or territory", examples=["AZ"])
]
LineOfBusiness = Literal["medicare_advantage", "medicaid", "commercial", "marketplace"]
ReviewType = Literal["initial", "appeal", "peer_to_peer"]
Degree = Literal["MD", "DO"]
LicenseStatus = Literal["active", "inactive", "expired", "suspended", "revoked", "probation"]
CertificationStatus = Literal["certified", "lapsed", "suspended", "revoked", "inactive"]
MocStatus = Literal["meeting", "not_meeting", "not_required"]
PhysicianStatus = Literal["active", "inactive"]
NpiStatus = Literal["unknown", "active", "deactivated"]
Language = Annotated[str, Meta(pattern=r"^[a-z]{2}$", description="ISO 639-1 code", examples=["en"])]
Npi = Annotated[
    str, Meta(pattern=r"^[0-9]{10}$", description="10-digit NPI with a valid check digit", examples=["1234567893"])
]
PersonName = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"\S")]
ShortText = Annotated[str, Meta(max_length=100)]
SpecialtyRef = Annotated[
    str,
    Meta(
        min_length=1, max_length=64, description="specialty slug or NUCC taxonomy code", examples=["medical_oncology"]
    ),
]
BoardCode = Annotated[str, Meta(pattern=r"^[A-Z]{2,16}$", description="certifying board code", examples=["ABIM"])]
LicenseNumber = Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9 .\-/]*$")]
Email = Annotated[str, Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
