"""Context for the dashboard home page (unfold DASHBOARD_CALLBACK; templates/admin/index.html renders it)."""

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from dashboard.jobs.kinds import job_kind_label, job_run_result_link
from dashboard.jobs.selectors import job_runs_recent_for_user
from dashboard.navigation import registry


def dashboard_callback(request: HttpRequest, context: dict) -> dict:
    user = request.user
    organization = getattr(user, "organization", None)
    context["custodian_profile"] = {
        "name": user.get_full_name() or user.get_username(),
        # The helpdesk role (admin, manager, agent) is a person's job in their organization; platform staff
        # have none, and theirs would read "Admin" next to "Groups: DBAs". The console's role is the groups.
        "role": user.get_role_display() if organization and hasattr(user, "get_role_display") else "",
        "organization": organization.name if organization else _("Platform staff: every organization"),
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "is_superuser": user.is_superuser,
    }
    # One card per capability this user may open; none until the capabilities register themselves.
    context["capability_cards"] = [
        {"title": entry.title, "icon": entry.icon, "description": entry.description, "url": url}
        for entry, url in registry.visible_to(user)
    ]
    context["recent_jobs"] = [
        {
            "run": run,
            "label": job_kind_label(run.kind),
            "result": job_run_result_link(run),
            "status_url": reverse("dashboard:job_run_status", args=[run.pk]),
        }
        for run in job_runs_recent_for_user(user)
    ]
    return context
