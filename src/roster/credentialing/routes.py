"""The credentialing file's routes (api.md "Credentialing file"): credentialing and admin write; manager and
auditor read (with credentialing and admin). The router role sees none of it. Policy updates are published by
managers (and admin); an attestation may be recorded by credentialing, managers or admin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath, JSONBody
from litestar.response import File

from roster.api.auth import allow
from roster.api.pagination import Cursor, Limit, Page
from roster.api.problems import problems
from roster.api.uploads import multipart_file_body, receive_file
from roster.credentialing import service
from roster.credentialing.schemas import (
    AttestationCreate,
    AttestationRead,
    AttestationStatusList,
    CmeCreditCreate,
    CmeCreditRead,
    CmeStandingRead,
    DecisionCreate,
    DecisionRead,
    EvidenceRead,
    IrrSessionCreate,
    IrrSessionRead,
    PolicyUpdateCreate,
    PolicyUpdateRead,
    VerificationCreate,
    VerificationRead,
)
from roster.keys.schemas import Principal, Role

AuthedRequest = Request[Principal, Any, Any]
TAGS = ["credentialing file"]
WRITE_FILE = allow(Role.credentialing)
READ_FILE = allow(Role.credentialing, Role.manager, Role.auditor)
PUBLISH_POLICY = allow(Role.manager)
RECORD_ATTESTATION = allow(Role.credentialing, Role.manager)


@dataclass
class EvidenceUploadOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = multipart_file_body("The evidence file: a PDF or a PNG (judged by its first bytes)")


@dataclass
class EvidenceDownloadOperation(Operation):
    """The 200 response is the file itself."""

    def __post_init__(self) -> None:
        if self.responses is not None:
            binary = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format="binary"))
            self.responses["200"] = OpenAPIResponse(
                description="The file's bytes, with its content type",
                content={"application/pdf": binary, "image/png": binary},
            )


_SUFFIX = {"application/pdf": "pdf", "image/png": "png"}


class EvidenceController(Controller):
    path = "/evidence"
    tags = TAGS

    @post(
        "/",
        opt=WRITE_FILE,
        status_code=201,
        request_max_body_size=None,  # bounded by receive_file with ROSTER_MAX_EVIDENCE_FILE_MB
        operation_class=EvidenceUploadOperation,
        responses={
            200: ResponseSpec(EvidenceRead, description="These exact bytes were uploaded before: the same record"),
            **problems(401, 403, 413),
        },
        summary="Upload an evidence file (multipart `file`: PDF or PNG), stored once per SHA-256",
    )
    async def upload_evidence(self, request: AuthedRequest) -> Response[EvidenceRead]:
        settings = request.app.state["settings"]
        upload = await receive_file(
            request,
            limit=settings.max_evidence_file_bytes,
            dest_dir=service.evidence_dir(settings.data_dir),
        )
        record, created = await service.store_evidence(
            upload.path, upload.sha256, upload.size, data_dir=settings.data_dir, actor=request.user.name
        )
        return Response(record, status_code=201 if created else 200)

    @get(
        "/{evidence_id:uuid}",
        opt=READ_FILE,
        operation_class=EvidenceDownloadOperation,
        responses=problems(401, 403, 404),
        summary="An evidence file's bytes",
    )
    async def download_evidence(self, request: AuthedRequest, evidence_id: FromPath[UUID]) -> File:
        record, path = await service.evidence_file(evidence_id, request.app.state["settings"].data_dir)
        return File(
            path=path,
            media_type=record.content_type,
            filename=f"{record.sha256}.{_SUFFIX[record.content_type]}",
            content_disposition_type="inline",
        )


class CredentialingFileController(Controller):
    path = "/physicians"
    tags = TAGS

    @post(
        "/{physician_id:uuid}/verifications",
        opt=WRITE_FILE,
        responses=problems(401, 403, 404),
        summary="Record a verification of one element of the physician's file (verified_by: the caller)",
    )
    async def add_verification(
        self, request: AuthedRequest, physician_id: FromPath[UUID], data: JSONBody[VerificationCreate]
    ) -> VerificationRead:
        return await service.add_verification(physician_id, data, actor=request.user.name)

    @get(
        "/{physician_id:uuid}/verifications",
        opt=READ_FILE,
        responses=problems(401, 403, 404),
        summary="The physician's verifications, oldest first",
    )
    async def list_verifications(
        self, physician_id: FromPath[UUID], limit: Limit = 50, cursor: Cursor = None
    ) -> Page[VerificationRead]:
        return await service.list_verifications(physician_id, cursor=cursor, limit=limit)

    @post(
        "/{physician_id:uuid}/credentialing-decisions",
        opt=WRITE_FILE,
        responses=problems(401, 403, 404),
        summary="Record a credentialing decision; returns whether it was timely, and which elements were late",
    )
    async def add_decision(
        self, request: AuthedRequest, physician_id: FromPath[UUID], data: JSONBody[DecisionCreate]
    ) -> DecisionRead:
        windows = service.verification_windows(request.app.state["settings"])
        return await service.add_decision(physician_id, data, actor=request.user.name, windows=windows)

    @get(
        "/{physician_id:uuid}/credentialing-decisions",
        opt=READ_FILE,
        responses=problems(401, 403, 404),
        summary="The physician's credentialing decisions, oldest first, as judged when recorded",
    )
    async def list_decisions(
        self, physician_id: FromPath[UUID], limit: Limit = 50, cursor: Cursor = None
    ) -> Page[DecisionRead]:
        return await service.list_decisions(physician_id, cursor=cursor, limit=limit)

    @post(
        "/{physician_id:uuid}/irr-sessions",
        opt=WRITE_FILE,
        responses=problems(401, 403, 404),
        summary="Record an inter-rater reliability test session; returns whether it passed",
    )
    async def add_irr_session(
        self, request: AuthedRequest, physician_id: FromPath[UUID], data: JSONBody[IrrSessionCreate]
    ) -> IrrSessionRead:
        return await service.add_irr_session(physician_id, data, actor=request.user.name)

    @get(
        "/{physician_id:uuid}/irr-sessions",
        opt=READ_FILE,
        responses=problems(401, 403, 404),
        summary="The physician's IRR sessions, oldest first",
    )
    async def list_irr_sessions(
        self, physician_id: FromPath[UUID], limit: Limit = 50, cursor: Cursor = None
    ) -> Page[IrrSessionRead]:
        return await service.list_irr_sessions(physician_id, cursor=cursor, limit=limit)


class PolicyUpdateController(Controller):
    path = "/policy-updates"
    tags = ["policy updates"]

    @post(
        "/",
        opt=PUBLISH_POLICY,
        responses=problems(401, 403),
        summary="Publish a coverage-policy update that reviewers must attest having read by attest_by",
    )
    async def add_policy_update(self, request: AuthedRequest, data: JSONBody[PolicyUpdateCreate]) -> PolicyUpdateRead:
        return await service.add_policy_update(data, actor=request.user.name)

    @get(
        "/",
        opt=READ_FILE,
        responses=problems(401, 403),
        summary="Policy updates by effective date, oldest first, with attestation counts among active physicians",
    )
    async def list_policy_updates(self, limit: Limit = 50, cursor: Cursor = None) -> Page[PolicyUpdateRead]:
        return await service.list_policy_updates(cursor=cursor, limit=limit)

    @get(
        "/{policy_update_id:uuid}",
        opt=READ_FILE,
        responses=problems(401, 403, 404),
        summary="A policy update with its attestation counts among active physicians",
    )
    async def get_policy_update(self, policy_update_id: FromPath[UUID]) -> PolicyUpdateRead:
        return await service.get_policy_update(policy_update_id)

    @post(
        "/{policy_update_id:uuid}/attestations",
        opt=RECORD_ATTESTATION,
        responses=problems(401, 403, 404, 409),
        summary="Record that a physician attested having read the update (once per physician)",
    )
    async def add_attestation(
        self, request: AuthedRequest, policy_update_id: FromPath[UUID], data: JSONBody[AttestationCreate]
    ) -> AttestationRead:
        return await service.add_attestation(policy_update_id, data, actor=request.user.name)

    @get(
        "/{policy_update_id:uuid}/attestations",
        opt=READ_FILE,
        responses=problems(401, 403, 404),
        summary="The update's attestations, oldest first",
    )
    async def list_attestations(
        self, policy_update_id: FromPath[UUID], limit: Limit = 50, cursor: Cursor = None
    ) -> Page[AttestationRead]:
        return await service.list_attestations(policy_update_id, cursor=cursor, limit=limit)


class ReviewerEducationController(Controller):
    path = "/physicians"
    tags = ["policy updates", "cme"]

    @get(
        "/{physician_id:uuid}/attestations",
        opt=READ_FILE,
        responses=problems(401, 403, 404),
        summary="The physician's attestation of every policy update, by attest-by date; overdue as of today",
    )
    async def attestation_status(self, physician_id: FromPath[UUID]) -> AttestationStatusList:
        return await service.attestation_status(physician_id)

    @post(
        "/{physician_id:uuid}/cme",
        opt=WRITE_FILE,
        responses=problems(401, 403, 404),
        summary="Record a CME credit the physician completed",
    )
    async def add_cme_credit(
        self, request: AuthedRequest, physician_id: FromPath[UUID], data: JSONBody[CmeCreditCreate]
    ) -> CmeCreditRead:
        return await service.add_cme_credit(physician_id, data, actor=request.user.name)

    @get(
        "/{physician_id:uuid}/cme",
        opt=READ_FILE,
        responses=problems(401, 403, 404),
        summary="The physician's CME credits, oldest first",
    )
    async def list_cme_credits(
        self, physician_id: FromPath[UUID], limit: Limit = 50, cursor: Cursor = None
    ) -> Page[CmeCreditRead]:
        return await service.list_cme_credits(physician_id, cursor=cursor, limit=limit)

    @get(
        "/{physician_id:uuid}/cme/standing",
        opt=READ_FILE,
        responses=problems(401, 403, 404),
        summary="The current CME cycle: hours required, earned so far and projected to its end at the rate so far",
    )
    async def cme_standing(self, request: AuthedRequest, physician_id: FromPath[UUID]) -> CmeStandingRead:
        requirements = service.cme_requirements(request.app.state["settings"])
        return await service.cme_standing(physician_id, requirements)


CONTROLLERS = (EvidenceController, CredentialingFileController, PolicyUpdateController, ReviewerEducationController)
