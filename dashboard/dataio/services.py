"""The import pipeline's rules: one module every import goes through (exports: dashboard.exports).

Imports run in two steps (import-export's dry run, then confirm), both through `import_file_read` /
`import_dataset_parse` and `import_columns_check` (malformed files never reach the resource), and the
resource's row rules (dashboard.dataio.resources): every row through `full_clean()`, ids of trashed records
and of other organizations refused. `import_confirm` writes: the whole file in one transaction, or nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import tablib
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from import_export.formats.base_formats import Format
from import_export.results import Result

from dashboard.dataio.tmp_storage import UPLOAD_FOLDER, upload_storage
from models_core.locks import advisory_xact_lock

if TYPE_CHECKING:
    from .resources import ScopedModelResource

ZIP_MAGIC = b"PK\x03\x04"


def import_file_read(upload: UploadedFile, input_format: type[Format]) -> tablib.Dataset:
    """Check an uploaded file's size and read it as `input_format`; ValidationError says what is wrong."""
    max_bytes = settings.CUSTODIAN_IMPORT_MAX_BYTES
    if upload.size is not None and upload.size > max_bytes:
        raise ValidationError(
            f"The file is {filesizeformat(upload.size)}; an import takes at most "
            f"{filesizeformat(max_bytes)}. Split it into smaller files.",
            code="too_big",
        )
    return import_dataset_parse(b"".join(upload.chunks()), input_format)


def import_dataset_parse(data: bytes, input_format: type[Format]) -> tablib.Dataset:
    """Parse an import file's bytes; ValidationError for empty, oversized, mis-encoded or malformed data."""
    max_bytes = settings.CUSTODIAN_IMPORT_MAX_BYTES
    title = input_format().get_title().upper()
    if not data.strip():
        raise ValidationError("The file is empty.", code="empty")
    if len(data) > max_bytes:
        raise ValidationError(
            f"The file is {filesizeformat(len(data))}; an import takes at most {filesizeformat(max_bytes)}.",
            code="too_big",
        )
    if input_format().is_binary():
        if not data.startswith(ZIP_MAGIC):
            raise ValidationError(
                f"This file is not an {title} workbook. Choose the format the file is in (CSV or JSON), "
                "or save it from your spreadsheet as .xlsx.",
                code="wrong_format",
            )
        parse_input: Any = data
    else:
        if data.startswith(ZIP_MAGIC):
            raise ValidationError(
                f"This file is a spreadsheet workbook, not {title} text: choose the XLSX format.",
                code="wrong_format",
            )
        if b"\x00" in data:
            raise ValidationError(
                f"This file holds binary data, not {title} text. Choose the format the file is in.",
                code="wrong_format",
            )
        try:
            parse_input = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(
                f"The file is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}). "
                "Save it with the UTF-8 encoding (in Excel: “CSV UTF-8”) and upload it again.",
                code="encoding",
            ) from None
    try:
        dataset = input_format().create_dataset(parse_input)
    except ValidationError:
        raise  # our formats stop at the limits while reading (dashboard.dataio.formats)
    except Exception as exc:  # tablib, csv, json and openpyxl each raise their own kinds
        hint = ""
        if title == "JSON":
            hint = ' A JSON import is a list of objects, one per row: [{"id": 1, "name": "..."}, ...].'
        raise ValidationError(
            f"The file could not be read as {title}: {_first_line(exc)}.{hint}", code="malformed"
        ) from None
    _dataset_shape_check(dataset)
    return dataset


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__).rstrip(".")[:200]


def _dataset_shape_check(dataset: tablib.Dataset) -> None:
    headers = list(dataset.headers or [])
    if not headers:
        raise ValidationError("The file has no header row naming its columns.", code="no_header")
    unnamed = [str(i) for i, header in enumerate(headers, 1) if header in (None, "")]
    if unnamed:
        raise ValidationError(
            f"Column {', '.join(unnamed)} has no name in the header row.", code="unnamed_column"
        )
    duplicates = sorted({h for h in headers if headers.count(h) > 1})
    if duplicates:
        raise ValidationError(f"Columns named twice: {', '.join(duplicates)}.", code="duplicate_column")
    if len(dataset) == 0:
        raise ValidationError("The file has a header row but no rows to import.", code="no_rows")
    max_rows = settings.CUSTODIAN_IMPORT_MAX_ROWS
    if len(dataset) > max_rows:
        raise ValidationError(
            f"The file has {len(dataset)} rows; an import takes at most {max_rows}. "
            "Split it into smaller files.",
            code="too_many_rows",
        )


def import_columns_check(dataset: tablib.Dataset, resource: ScopedModelResource) -> None:
    """Refuse unknown columns, and missing required ones when the file creates records (rows without id)."""
    headers = [str(h) for h in dataset.headers]
    known = resource.known_columns()
    unknown = [h for h in headers if h not in known]
    errors = []
    if unknown:
        errors.append(
            ValidationError(
                f"Unknown columns: {', '.join(unknown)}. This import knows: {', '.join(sorted(known))}.",
                code="unknown_column",
            )
        )
    id_column = resource.id_column()
    creates = id_column not in headers or any(
        value is None or str(value).strip() == "" for value in dataset[id_column]
    )
    if creates:
        missing = [c for c in resource.required_columns_for_new_rows() if c not in headers]
        if missing:
            errors.append(
                ValidationError(
                    f"Missing columns: {', '.join(missing)}. Rows without an id create new records, "
                    "which need them.",
                    code="missing_column",
                )
            )
    if errors:
        raise ValidationError(errors)


def import_confirm_lock(name: str) -> bool:
    """Take a transaction-scoped lock on one pending upload; False when another request holds it.

    Two confirms of the same upload (a double click, two tabs) must not both import it: the first holds this
    lock until its transaction ends, by which time the upload is gone.
    """
    return advisory_xact_lock("dataio", name, wait=False)


def import_uploads_prune(older_than_hours: int | None = None) -> int:
    """Delete pending uploads older than `older_than_hours` (CUSTODIAN_IMPORT_UPLOAD_TTL_HOURS); how many.

    An upload previewed but never confirmed stays in the shared storage until this removes it; a confirm of
    it afterwards is refused as expired. One listing of the folder, then one delete per old file.
    """
    hours = older_than_hours if older_than_hours is not None else settings.CUSTODIAN_IMPORT_UPLOAD_TTL_HOURS
    cutoff = timezone.now() - timedelta(hours=hours)
    storage = upload_storage()
    try:
        _, names = storage.listdir(UPLOAD_FOLDER)
    except FileNotFoundError:
        return 0  # nothing was ever uploaded
    deleted = 0
    for name in names:
        path = f"{UPLOAD_FOLDER}/{name}"
        try:
            if storage.get_modified_time(path) >= cutoff:
                continue
        except FileNotFoundError:
            continue  # confirmed (and removed) since the listing
        with transaction.atomic():
            # The confirm step holds this lock while it reads the file: never pull it from under it.
            if not import_confirm_lock(name):
                continue
            storage.delete(path)
        deleted += 1
    return deleted


def import_confirm(resource: ScopedModelResource, dataset: tablib.Dataset, **kwargs: Any) -> Result:
    """Import a checked dataset for real, in one transaction: any row error rolls the whole file back."""
    with transaction.atomic():
        return resource.import_data(
            dataset,
            dry_run=False,
            raise_errors=False,
            use_transactions=True,
            rollback_on_validation_errors=True,
            **kwargs,
        )


def import_result_failed(result: Result) -> bool:
    return result.has_errors() or result.has_validation_errors()
