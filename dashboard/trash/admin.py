"""Deleting in the normal admin moves records to the trash.

`MoveToTrashAdminMixin` goes before `ModelAdmin` (unfold's or Django's) on every soft-delete model's admin:
the delete view and the "delete selected" action are replaced by a page that asks for a reason and calls
`trash_soft_delete`, so the admin never shows Django's "these related objects will be deleted" page for
what is not a hard delete.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from dashboard.trash.forms import DeleteReasonForm
from dashboard.trash.services import trash_soft_delete
from models_core.softdelete import SoftDeleteModel
from models_core.trashing import RowInTrashError

CONFIRM_SHOWN = 100


def _taken_along(model: type) -> list[str]:
    """What a delete of this model takes to the trash with it, as names for people."""
    spec = getattr(model, "SoftDeleteMeta", None)
    names = []
    for name in getattr(spec, "cascade", ()):
        names.append(str(model._meta.get_field(name).related_model._meta.verbose_name_plural))
    return names


class MoveToTrashAdminMixin:
    """Soft delete with a reason instead of Django's hard delete, for single and bulk deletes.

    On an admin of a model that is not soft-deleted it changes nothing, so it can sit on a shared base class.
    """

    move_to_trash_template = "trash/admin/move_to_trash.html"

    @property
    def _moves_to_trash(self) -> bool:
        return issubclass(self.model, SoftDeleteModel)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not self._moves_to_trash:
            return actions
        actions.pop("delete_selected", None)
        if self.has_delete_permission(request):
            meta = self.model._meta
            actions["move_to_trash"] = (
                type(self).move_to_trash,
                "move_to_trash",
                f"Move selected {meta.verbose_name_plural} to the trash",
            )
        return actions

    def _trash_context(
        self, request: HttpRequest, objects: list, count: int, form: Any, **extra: Any
    ) -> dict:
        opts = self.model._meta
        name = opts.verbose_name if count == 1 else opts.verbose_name_plural
        return {
            **self.admin_site.each_context(request),
            "title": f"Move to the trash: {count} {name}",
            "opts": opts,
            "app_label": opts.app_label,
            "objects": objects,
            "count": count,
            "more": max(count - len(objects), 0),
            "form": form,
            "taken_along": _taken_along(self.model),
            "changelist_url": reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist"
            ),
            **extra,
        }

    def _move(self, request: HttpRequest, queryset: QuerySet, reason: str) -> bool:
        try:
            result = trash_soft_delete(request.user, queryset, reason)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return False
        roots = result.counts.get(queryset.model._meta.label, 0)
        along = result.total - roots
        meta = queryset.model._meta
        text = f"Moved {roots} {meta.verbose_name if roots == 1 else meta.verbose_name_plural} to the trash"
        if along:
            text += f" with {along} related row{'s' if along != 1 else ''}"
        self.message_user(request, f"{text}. They can be restored from the trash.", messages.SUCCESS)
        return True

    def move_to_trash(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """The bulk action: a reason page first (like Django's delete_selected), then one soft delete."""
        if not self.has_delete_permission(request):
            raise PermissionDenied
        form = DeleteReasonForm(request.POST if request.POST.get("post") else None)
        if form.is_bound and form.is_valid():
            self._move(request, queryset, form.cleaned_data["reason"])
            return None
        objects = list(queryset[:CONFIRM_SHOWN])
        context = self._trash_context(
            request,
            objects,
            queryset.count(),
            form,
            bulk=True,
            action_checkbox_name=helpers.ACTION_CHECKBOX_NAME,
            selected=request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            select_across=request.POST.get("select_across", "0"),
        )
        return TemplateResponse(request, self.move_to_trash_template, context)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        """Django's change form; a save that finds its row (or an inline's) moved to the trash by someone
        else meanwhile is refused by the model layer, the whole request is rolled back, and the user is
        told why instead of getting a 500."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except RowInTrashError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            opts = self.model._meta
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist")
            )

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        if not self._moves_to_trash:
            return super().delete_view(request, object_id, extra_context)
        opts = self.model._meta
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, opts, object_id)
        if not self.has_delete_permission(request, obj):
            raise PermissionDenied
        form = DeleteReasonForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            queryset = self.model._base_manager.filter(pk=obj.pk)
            self._move(request, queryset, form.cleaned_data["reason"])
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist")
            )
        context = self._trash_context(
            request, [obj], 1, form, bulk=False, object=obj, **(extra_context or {})
        )
        return TemplateResponse(request, self.move_to_trash_template, context)
