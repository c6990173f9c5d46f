from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dashboard.jobs.selectors import job_run_get_for_user, job_run_status
from dashboard.scoping import staff_permission_required


@require_GET
@never_cache
@staff_permission_required()
def job_run_status_view(request: HttpRequest, job_run_id: int) -> JsonResponse:
    job_run = job_run_get_for_user(request.user, job_run_id)
    return JsonResponse(job_run_status(job_run))
