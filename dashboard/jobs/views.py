"""Job endpoints: the status the progress poller reads, and retry / cancel (POST + CSRF, checked in the
service too: the starter, or the kind's permission in the run's organization)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dashboard.jobs.kinds import job_kind_label
from dashboard.jobs.selectors import job_run_get_for_user, job_run_status
from dashboard.jobs.services import job_run_cancel, job_run_retry
from dashboard.scoping import staff_permission_required


@require_GET
@never_cache
@staff_permission_required()
def job_run_status_view(request: HttpRequest, job_run_id: int) -> JsonResponse:
    job_run = job_run_get_for_user(request.user, job_run_id)
    return JsonResponse(job_run_status(job_run, request.user))


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "admin:index"
    return redirect(target)


def _act(request: HttpRequest, job_run_id: int, action, done: str) -> HttpResponse:
    job_run = job_run_get_for_user(request.user, job_run_id)  # 404 for runs the viewer may not see
    try:
        run = action(user=request.user, job_run=job_run)
    except ValidationError as error:
        messages.error(request, f"{job_kind_label(job_run.kind)} #{job_run.pk}: {' '.join(error.messages)}")
    else:
        messages.success(request, f"{job_kind_label(run.kind)} #{run.pk} {done}.")
    return _back(request)


@require_POST
@staff_permission_required()
def job_run_retry_view(request: HttpRequest, job_run_id: int) -> HttpResponse:
    return _act(request, job_run_id, job_run_retry, "queued again")


@require_POST
@staff_permission_required()
def job_run_cancel_view(request: HttpRequest, job_run_id: int) -> HttpResponse:
    return _act(request, job_run_id, job_run_cancel, "cancelled")
