from typing import Any

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString

from dashboard.jobs.kinds import job_kind_label as _job_kind_label
from dashboard.jobs.selectors import job_run_actions as _job_run_actions

register = template.Library()


@register.simple_tag(takes_context=True)
def job_run_actions(context: dict, run: Any) -> dict:
    """`{% job_run_actions run as actions %}`: the viewer's retry/cancel offers (dashboard.jobs.selectors)."""
    return _job_run_actions(context["request"].user, run)


@register.filter
def job_kind_label(kind: str) -> str:
    """`{{ run.kind|job_kind_label }}`: "trash_purge" -> "Purge from the trash" (dashboard.jobs.kinds)."""
    return _job_kind_label(kind)


@register.simple_tag
def job_progress_script() -> SafeString:
    """`{% job_progress_script %}`: loads dashboard/js/job_progress.js with its polling delays.

    The delays (first, longest; milliseconds) come from CUSTODIAN_JOB_POLL_MS, so the test settings can make
    the poller answer within a fraction of a second instead of backing off to ten.
    """
    first_ms, max_ms = settings.CUSTODIAN_JOB_POLL_MS
    return format_html(
        '<script src="{}" data-poll-first-ms="{}" data-poll-max-ms="{}" defer></script>',
        static("dashboard/js/job_progress.js"),
        int(first_ms),
        int(max_ms),
    )
