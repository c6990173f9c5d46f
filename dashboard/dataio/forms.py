"""The import form: unfold's plus the file checks, so a malformed file comes back with a reason."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from unfold.contrib.import_export.forms import ImportForm

from .services import import_columns_check, import_file_read


class DataIOImportForm(ImportForm):
    def __init__(self, formats: list, resources: list, user: Any = None, **kwargs: Any) -> None:
        self.import_formats = list(formats)
        self.resource_classes = list(resources)
        self.user = user
        self.dataset = None  # the file as read by clean(), when it passed the checks
        super().__init__(formats, resources, **kwargs)
        max_size = filesizeformat(settings.CUSTODIAN_IMPORT_MAX_BYTES)
        self.fields["import_file"].help_text = (
            f"CSV (UTF-8), XLSX or JSON with a header row; at most {max_size} and "
            f"{settings.CUSTODIAN_IMPORT_MAX_ROWS} rows."
        )

    def clean(self) -> dict:
        cleaned = super().clean()
        upload = cleaned.get("import_file")
        format_index = cleaned.get("format")
        if upload is None or format_index in (None, ""):
            return cleaned
        try:
            input_format = self.import_formats[int(format_index)]
            resource_class = self.resource_classes[int(cleaned.get("resource") or 0)]
        except (ValueError, IndexError):
            raise ValidationError(
                "Choose one of the offered formats and resources.", code="invalid"
            ) from None
        try:
            dataset = import_file_read(upload, input_format)
            import_columns_check(dataset, resource_class(user=self.user))
        except ValidationError as exc:
            self.add_error("import_file", exc)
        else:
            self.dataset = dataset
        return cleaned
