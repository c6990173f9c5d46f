"""The hook registry browser: one page (GET) and its reset action (POST)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.hooks.forms import HookFilterForm, HookStatsResetForm
from dashboard.hooks.selectors import (
    hook_bypass_list,
    hook_registry_groups,
    hook_registry_summary,
    hook_stats_orphans,
)
from dashboard.hooks.services import HookStatNotFound, hook_stats_reset
from dashboard.pages import page_context
from dashboard.permissions import RESET_HOOK_STATS, VIEW_HOOK_REGISTRY
from dashboard.scoping import is_platform_staff, staff_permission_required
from models_core.hooks import FLUSH_EVERY_SECONDS


def _render_registry(request: HttpRequest, form: HookFilterForm, status: int = 200) -> HttpResponse:
    model_label = hook_type = None
    if form.is_bound:
        if form.is_valid():
            model_label = form.cleaned_data["model"] or None
            hook_type = form.cleaned_data["event"] or None
        else:
            status = 400
    shown = status < 400 or status == 404
    groups = hook_registry_groups(model_label, hook_type) if shown else []
    context = {
        **page_context(request),
        "title": "Hook registry",
        "form": form,
        "groups": groups,
        "summary": hook_registry_summary(groups),
        "bypasses": hook_bypass_list(model_label) if shown else [],
        "orphans": hook_stats_orphans(model_label) if shown and not hook_type else [],
        "can_reset": request.user.has_perm(RESET_HOOK_STATS) and is_platform_staff(request.user),
        "filtered": bool(model_label or hook_type),
        "filter_model": model_label or "",
        "filter_event": hook_type or "",
        "flush_seconds": int(FLUSH_EVERY_SECONDS),
    }
    return TemplateResponse(request, "hooks/registry.html", context, status=status)


@require_GET
@staff_permission_required(VIEW_HOOK_REGISTRY)
def hook_registry_view(request: HttpRequest) -> HttpResponse:
    return _render_registry(request, HookFilterForm(request.GET or None))


@require_POST
@staff_permission_required(VIEW_HOOK_REGISTRY)
@staff_permission_required(RESET_HOOK_STATS, platform_only=True)
def hook_stats_reset_view(request: HttpRequest) -> HttpResponse:
    form = HookStatsResetForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The reset request was malformed; nothing was reset.")
        return _render_registry(request, HookFilterForm(), status=400)
    filters = HookFilterForm({"model": form.cleaned_data["model"], "event": form.cleaned_data["event"]})
    if not filters.is_valid():
        filters = HookFilterForm()
    key = form.cleaned_data["key"] or None
    try:
        count = hook_stats_reset(request.user, key)
    except HookStatNotFound:
        messages.error(request, "That hook has no statistics to reset (someone may have reset them already).")
        return _render_registry(request, filters, status=404)
    if key:
        messages.success(request, "The hook's statistics start again from now.")
    else:
        messages.success(
            request, f"Statistics of {count} hooks and every bypass counter start again from now."
        )
    query = {name: value for name, value in filters.cleaned_data.items() if value} if filters.is_bound else {}
    back = reverse("dashboard:hooks:registry") + (f"?{urlencode(query)}" if query else "")
    return HttpResponseRedirect(back)
