"""The admin side of import and export: a mixin for models_core's unfold ModelAdmins.

    class TicketAdmin(DataIOAdminMixin, BigTableAdmin):
        resource_classes = [TicketResource]

What it adds to import-export's ImportExportMixin:
- unfold's forms, with the file checks of dashboard.dataio.forms; an invalid upload answers 400.
- Resources built for the requesting user (scoping, organization defaults).
- Import needs the model's add and change rights (settings: IMPORT_EXPORT_IMPORT_PERMISSION_CODE), export its
  view right; Support managers export, Admins import too.
- Files of more than CUSTODIAN_IMPORT_SYNC_MAX_ROWS rows are previewed and confirmed by background jobs
  (dashboard.dataio.uploads): the upload answers at once with a redirect to the upload's page.
- The confirm step imports only an upload this session previewed, once (double submits are refused), in one
  transaction, and if any row fails now (data changed since the preview) nothing is written and the errors
  are shown. Imported rows are written to the admin log (import-export's LogEntry per row).
- Exports are the changelist's filtered, scoped queryset (import-export builds it from the same ChangeList),
  live rows only, read in keyset chunks (dashboard.dataio.exports), capped at CUSTODIAN_EXPORT_MAX_ROWS; bad
  filter parameters answer 400. Above CUSTODIAN_EXPORT_SYNC_MAX_ROWS rows a background job writes the file
  (dashboard.exports.files) and the export answers with a redirect to the file's page.
"""

from __future__ import annotations

from typing import Any

import tablib
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportMixin
from import_export.signals import post_import
from unfold.contrib.import_export.forms import SelectableFieldsExportForm

from dashboard import formats
from dashboard.exports import export_filename
from dashboard.exports.views import export_file_start_response

from .exports import ADMIN_EXPORT_SOURCE, admin_export_query, admin_export_rows
from .forms import DataIOImportForm
from .selectors import queryset_exceeds
from .services import (
    import_confirm,
    import_confirm_lock,
    import_dataset_parse,
    import_result_failed,
)
from .uploads import import_in_background, import_upload_start

PENDING_SESSION_KEY = "dataio_pending_imports"
PENDING_KEEP = 20  # uploads previewed but not confirmed that a session remembers


class DataIOAdminMixin(ImportExportMixin):
    import_form_class = DataIOImportForm
    export_form_class = SelectableFieldsExportForm
    import_template_name = "dataio/import.html"
    import_error_display = ("message",)

    @property
    def formats(self) -> list:
        return [formats.CSV, formats.XLSX, formats.JSON]

    # Permissions
    # ------------------------------------------------------------------------------------------------

    def has_import_permission(self, request: HttpRequest) -> bool:
        # An import creates and updates rows: it needs both rights.
        change = get_permission_codename("change", self.opts)
        return super().has_import_permission(request) and request.user.has_perm(
            f"{self.opts.app_label}.{change}"
        )

    # Resources and forms
    # ------------------------------------------------------------------------------------------------

    def get_import_resource_kwargs(self, request: HttpRequest, **kwargs: Any) -> dict:
        return {"user": request.user}

    def get_export_resource_kwargs(self, request: HttpRequest, **kwargs: Any) -> dict:
        return {"user": request.user}

    def get_import_form_kwargs(self, request: HttpRequest) -> dict:
        return {**super().get_import_form_kwargs(request), "user": request.user}

    def get_confirm_form_initial(self, request: HttpRequest, import_form: Any) -> dict:
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            pending = dict(request.session.get(PENDING_SESSION_KEY, {}))
            pending[initial["import_file_name"]] = self.opts.label_lower
            request.session[PENDING_SESSION_KEY] = dict(list(pending.items())[-PENDING_KEEP:])
        return initial

    # Import
    # ------------------------------------------------------------------------------------------------

    def create_import_form(self, request: HttpRequest) -> Any:
        # One form per request: import_action below checks it before import-export's import_action asks
        # for it again, and the file is read once.
        form = getattr(request, "_dataio_import_form", None)
        if form is None:
            form = request._dataio_import_form = super().create_import_form(request)
        return form

    def import_action(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and self.has_import_permission(request):
            form = self.create_import_form(request)
            if form.is_valid() and form.dataset is not None and import_in_background(len(form.dataset)):
                return self._import_in_background(request, form)
        response = super().import_action(request, **kwargs)
        form = getattr(response, "context_data", {}).get("form")
        if request.method == "POST" and form is not None and form.errors:
            response.status_code = 400
        return response

    def _import_in_background(self, request: HttpRequest, form: Any) -> HttpResponse:
        data = form.cleaned_data
        upload_file = data["import_file"]
        upload_file.seek(0)
        input_format = self.get_import_formats()[int(data["format"])]
        upload = import_upload_start(
            user=request.user,
            resource_class=self.get_import_resource_classes(request)[int(data.get("resource") or 0)],
            format_key=input_format().get_extension(),
            file_name=upload_file.name,
            data=b"".join(upload_file.chunks()),
            row_count=len(form.dataset),
        )
        return redirect("dashboard:dataio_upload", upload.pk)

    @method_decorator(require_POST)
    def process_import(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            return self._import_refused(request, "This confirmation is incomplete. Upload the file again.")
        data = confirm_form.cleaned_data
        name = data["import_file_name"]
        pending = dict(request.session.get(PENDING_SESSION_KEY, {}))
        if pending.get(name) != self.opts.label_lower:
            return self._import_refused(
                request,
                "This import was already confirmed, or its preview has expired: nothing was imported now. "
                "Upload the file again to import it.",
            )
        formats = self.get_import_formats()
        try:
            input_format = formats[int(data["format"])]
            resource_class = self.get_import_resource_classes(request)[int(data.get("resource") or 0)]
        except (ValueError, IndexError):
            return self._import_refused(request, "This confirmation names no offered format. Upload again.")

        tmp_storage = self.get_tmp_storage_class()(
            name=name, encoding=None, read_mode="rb", **self.get_tmp_storage_class_kwargs()
        )
        with_lock_result = self._import_locked(request, name, tmp_storage, input_format, resource_class, data)
        if isinstance(with_lock_result, HttpResponse):
            return with_lock_result
        pending.pop(name, None)
        request.session[PENDING_SESSION_KEY] = pending
        result = with_lock_result
        if import_result_failed(result):
            messages.error(
                request,
                "Nothing was imported: some rows fail now (the data changed since the preview). "
                "Correct the file and upload it again.",
            )
            return self._import_page(request, status=409, result=result)
        self.generate_log_entries(result, request)
        self.add_success_message(result, request)
        post_import.send(sender=None, model=self.model)
        return self._changelist_redirect()

    def _import_locked(
        self,
        request: HttpRequest,
        name: str,
        tmp_storage: Any,
        input_format: Any,
        resource_class: Any,
        data: dict,
    ) -> Any:
        with transaction.atomic():
            if not import_confirm_lock(name):
                return self._import_refused(request, "This import is already running.", status=409)
            try:
                raw = tmp_storage.read()
            except OSError:
                return self._import_refused(
                    request,
                    "This import was already confirmed, or its upload has expired: nothing was imported now.",
                )
            # Gone before the transaction ends, so a second confirm of the same upload finds nothing.
            tmp_storage.remove()
            try:
                dataset = import_dataset_parse(raw if isinstance(raw, bytes) else raw.encode(), input_format)
            except ValidationError as exc:
                return self._import_refused(request, " ".join(exc.messages))
            resource = resource_class(**self.get_import_resource_kwargs(request))
            return import_confirm(
                resource,
                dataset,
                file_name=data.get("original_file_name"),
                user=request.user,
                retain_instance_in_row_result=True,
            )

    def _import_refused(self, request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
        messages.error(request, message)
        return self._import_page(request, status=status)

    def _import_page(self, request: HttpRequest, *, status: int, result: Any = None) -> HttpResponse:
        """The import page with an empty form (and the failed result, if any)."""
        form = self.get_import_form_class(request)(
            self.get_import_formats(),
            self.get_import_resource_classes(request),
            user=request.user,
            initial=self.get_import_form_initial(request),
        )
        resources = [
            cls(**self.get_import_resource_kwargs(request))
            for cls in self.get_import_resource_classes(request)
        ]
        context = self.get_import_context_data()
        context.update(self.admin_site.each_context(request))
        context.update(
            {
                "title": "Import",
                "form": form,
                "opts": self.model._meta,
                "media": self.media + form.media,
                "fields_list": [
                    (r.get_display_name(), [f.column_name for f in r.get_user_visible_fields()])
                    for r in resources
                ],
                "import_error_display": self.import_error_display,
                "result": result,
            }
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, [self.import_template_name], context, status=status)

    def _changelist_redirect(self) -> HttpResponse:
        url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist", current_app=self.admin_site.name
        )
        return HttpResponseRedirect(url)

    def get_import_context_data(self, **kwargs: Any) -> dict:
        context = super().get_import_context_data(**kwargs)
        context["dataio_limits"] = {
            "max_bytes": settings.CUSTODIAN_IMPORT_MAX_BYTES,
            "max_rows": settings.CUSTODIAN_IMPORT_MAX_ROWS,
        }
        return context

    # Export
    # ------------------------------------------------------------------------------------------------

    def export_action(self, request: HttpRequest) -> HttpResponse:
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            messages.error(
                request, "The changelist filters in this address are not valid: nothing was exported."
            )
            form = self.get_export_form_class()(
                self.get_export_formats(), self.get_export_resource_classes(request)
            )
            context = self.init_request_context_data(request, form)
            return TemplateResponse(request, [self.export_template_name], context, status=400)

    def _do_file_export(self, file_format: Any, request: HttpRequest, queryset: Any, export_form: Any = None):
        limit = settings.CUSTODIAN_EXPORT_MAX_ROWS
        # Reads at most that many keys plus one (queryset_exceeds), never a COUNT(*).
        if queryset_exceeds(queryset, min(limit, settings.CUSTODIAN_EXPORT_SYNC_MAX_ROWS)):
            if queryset_exceeds(queryset, limit):
                # export_action shows a ValueError on the form.
                plural = self.opts.verbose_name_plural
                raise ValueError(f"More than {limit} {plural} match: narrow the filters to export them.")
            # Rows picked on a changelist page (the admin action) stay a download: one page's worth.
            if not (export_form is not None and "export_items" in export_form.changed_data):
                return self._export_in_background(file_format, request, export_form)
        return super()._do_file_export(file_format, request, queryset, export_form=export_form)

    def _export_in_background(self, file_format: Any, request: HttpRequest, export_form: Any) -> HttpResponse:
        query = admin_export_query(
            request,
            self.model,
            self.get_resource_index(export_form) if export_form is not None else 0,
            self.get_export_resource_fields_from_form(export_form),
        )
        return export_file_start_response(
            request,
            source=ADMIN_EXPORT_SOURCE,
            query=query,
            format_key=file_format.get_extension(),
            back=reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"),
        )

    def get_data_for_export(self, request: HttpRequest, queryset: Any, **kwargs: Any) -> tablib.Dataset:
        # import-export's, read in keyset chunks (dashboard.dataio.exports) rather than one cursor.
        export_form = kwargs.get("export_form")
        resource_class = self.choose_export_resource_class(export_form, request)
        resource = resource_class(**self.get_export_resource_kwargs(request, **kwargs))
        fields = self.get_export_resource_fields_from_form(export_form)
        dataset = tablib.Dataset(headers=resource.get_export_headers(selected_fields=fields))
        native = kwargs.get("force_native_type", False)
        for row in admin_export_rows(resource, queryset, fields, force_native_type=native):
            dataset.append(row)
        return dataset

    def get_export_filename(self, request: HttpRequest, queryset: Any, file_format: Any) -> str:
        return export_filename(str(self.opts.verbose_name_plural), file_format.get_extension())
