"""The index advisor's page and its three POSTs (run, dismiss, take a dismissal back).

Platform staff with dashboard.view_dbhealth only, like every DB health page: the workload is the whole
database's.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.dbhealth.advisor import selectors, services
from dashboard.dbhealth.forms import AdviceDismissForm
from dashboard.dbhealth.views import tabs_context
from dashboard.pages import page_context, page_refuse
from dashboard.permissions import VIEW_DBHEALTH
from dashboard.scoping import staff_permission_required


def _back() -> HttpResponse:
    return redirect(reverse("dashboard:dbhealth:advisor"))


def _refuse(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    return page_refuse(
        request, message, status=status, title="Index advisor", back=reverse("dashboard:dbhealth:advisor")
    )


@require_GET
@staff_permission_required(VIEW_DBHEALTH, platform_only=True)
def advisor_view(request: HttpRequest) -> HttpResponse:
    latest = selectors.advisor_run_latest()
    context = {
        **page_context(request),
        **tabs_context(request, "advisor", None),
        "title": "DB health: index advisor",
        "status": selectors.advisor_status_read(),
        "listing": selectors.advice_listing(latest),
        "history": selectors.advisor_run_history(),
        "dismissals": selectors.advice_dismissal_list(),
        "pending": selectors.advisor_run_pending(),
    }
    return render(request, "dbhealth/advisor.html", context)


@require_POST
@staff_permission_required(VIEW_DBHEALTH, platform_only=True)
def advisor_run_view(request: HttpRequest) -> HttpResponse:
    try:
        services.advisor_run_start(user=request.user)
    except services.AdvisorRunPending as exc:
        return _refuse(request, str(exc), status=409)
    messages.success(
        request, "The advisor is planning the workload in the background: its advice shows here."
    )
    return _back()


@require_POST
@staff_permission_required(VIEW_DBHEALTH, platform_only=True)
def advice_dismiss_view(request: HttpRequest, advice_id: int) -> HttpResponse:
    form = AdviceDismissForm(request.POST)
    if not form.is_valid():
        return _refuse(request, "Say why this advice is dismissed (up to 2,000 characters).")
    try:
        dismissal = services.advice_dismiss(
            user=request.user, advice_id=advice_id, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        return _refuse(request, " ".join(exc.messages), status=404 if exc.code == "missing" else 400)
    messages.success(request, f"Dismissed: {dismissal.definition}")
    return _back()


@require_POST
@staff_permission_required(VIEW_DBHEALTH, platform_only=True)
def advice_dismissal_revoke_view(request: HttpRequest, dismissal_id: int) -> HttpResponse:
    if not services.advice_dismissal_revoke(dismissal_id=dismissal_id):
        return _refuse(request, "That dismissal was already taken back.", status=404)
    messages.success(request, "Dismissal taken back: the advice shows again.")
    return _back()
