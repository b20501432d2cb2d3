from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter

from roster.api.auth import allow
from roster.api.problems import problems
from roster.keys.schemas import Principal, Role
from roster.scheduling import service
from roster.scheduling.schemas import JobRead, JobRunRead

AuthedRequest = Request[Principal, Any, Any]

#: Operators and managers watch the jobs; auditors see that the roster re-verified itself.
READ_JOBS = allow(Role.manager, Role.auditor)
#: Running a job now (e.g. after fixing a list URL) is for managers; admin may do everything.
RUN_JOBS = allow(Role.manager)


class JobController(Controller):
    path = "/jobs"
    tags = ["jobs"]

    @get("/", opt=READ_JOBS, responses=problems(401, 403), summary="Scheduled jobs: schedule, last run, next run")
    async def list_job(self, request: AuthedRequest) -> list[JobRead]:
        return await service.list_jobs(request.app.state["settings"])

    @post(
        "/{name:str}/run",
        opt=RUN_JOBS,
        status_code=202,
        responses={
            201: ResponseSpec(JobRunRead, description="`wait=true`: the finished run (its outcome may be `failed`)"),
            **problems(401, 403, 404, 409),
        },
        summary="Run a job now",
        description=(
            "Starts the job in the background and answers 202 with the run as started (`outcome: running`); "
            "`GET /jobs` shows its outcome. With `wait=true` the answer is the finished run (201): for short "
            "jobs and scripts. A job already running anywhere is a 409."
        ),
    )
    async def run_job_now(
        self,
        request: AuthedRequest,
        name: FromPath[str],
        wait: Annotated[bool, QueryParameter(description="wait for the run to finish")] = False,
    ) -> Response[JobRunRead]:
        state = request.app.state
        actor = request.user.name
        if wait:
            run = await service.run_job(name, state["settings"], state["http"], trigger="manual", actor=actor)
            return Response(run, status_code=201)
        run = await service.start_job(name, state["settings"], state["http"], state["job_tasks"], actor=actor)
        return Response(run, status_code=202)
