from typing import Any

from django import template

from dashboard.jobs.selectors import job_run_actions as _job_run_actions

register = template.Library()


@register.simple_tag(takes_context=True)
def job_run_actions(context: dict, run: Any) -> dict:
    """`{% job_run_actions run as actions %}`: the viewer's retry/cancel offers (dashboard.jobs.selectors)."""
    return _job_run_actions(context["request"].user, run)
