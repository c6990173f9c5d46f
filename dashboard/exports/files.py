"""Exports too big for a request: a background job writes the file into the database, its requester
downloads it from the file's page (dashboard.exports.views).

- Each capability registers what it exports (`export_source_register(name, build)`): `build(user, query)`
  turns the export's query string into its rows (ExportRows), scoped to that user and filtered as the
  synchronous export would be, read in keyset chunks; it raises ValidationError for a query it refuses.
  The synchronous download and the job use the same builder, so both files hold the same rows.
- A view that finds more than CUSTODIAN_EXPORT_SYNC_MAX_ROWS rows (a capped count: at most that many plus
  one keys read) calls `export_file_start` and sends the user to the file's page.
- The job (`export_file_write`) streams the rows through the format's writer into parts of
  CUSTODIAN_EXPORT_PART_BYTES (memory holds one chunk of rows and one part), then marks the file ready. A
  retry (a killed worker, a person) first deletes what an earlier attempt wrote; a file is never offered
  before it is ready.
- `export_files_prune` deletes files older than CUSTODIAN_EXPORT_FILE_TTL_HOURS (hourly task
  dashboard.prune_export_files).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Now
from django.http import QueryDict
from django.utils import timezone
from tablib.formats._json import serialize_objects_handler

from dashboard.exports import EXPORT_FORMATS, FORMATS_TEXT, export_filename
from dashboard.exports.models import ExportFile, ExportFilePart
from dashboard.formats import xlsx_write
from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_progress, job_run_start
from dashboard.spreadsheet import csv_cell

EXPORT_JOB = "export_file"  # the JobRun kind ("Export file" on the home page)
EXPORT_TASK = "dashboard.export_file"
# Excel's sheet holds 1,048,576 rows, the header included.
XLSX_MAX_ROWS = 1_048_575
# Progress is written every this many rows (each report is an UPDATE of its own).
PROGRESS_EVERY = 1000


@dataclass
class ExportRows:
    """What an export writes: its columns, its rows (an iterator reading keyset chunks), the file's name and
    sheet title, the most rows it may hold (None: every row) and, for the progress bar, how to count them."""

    headers: list[str]
    rows: Iterable[Sequence[Any]]
    filename_stem: str
    title: str = ""
    max_rows: int | None = None
    count: Callable[[], int] | None = None


# build(user, query, format_key): the format matters for caps (CSV streams every row, XLSX has a sheet's).
ExportBuild = Callable[[Any, QueryDict, str], ExportRows]
_SOURCES: dict[str, ExportBuild] = {}


def export_source_register(name: str, build: ExportBuild) -> str:
    """Declare an export the background job can write (in the capability's `tasks` module, which both the
    web processes and the workers import at start-up)."""
    _SOURCES[name] = build
    return name


def export_source_build(source: str, user: Any, query: str | QueryDict, format_key: str) -> ExportRows:
    """The rows of `source` for `user` and `query`; ValidationError for an unknown source or a bad query."""
    build = _SOURCES.get(source)
    if build is None:
        raise ValidationError(f"No export is called {source!r}.", code="source")
    if isinstance(query, str):
        query = QueryDict(query)
    return build(user, query, format_key)


def export_exceeds_sync(count_capped: Callable[[int], int]) -> bool:
    """Is an export too big for a request? `count_capped(n)` counts its rows but stops past `n`."""
    limit = settings.CUSTODIAN_EXPORT_SYNC_MAX_ROWS
    return count_capped(limit) > limit


def export_file_start(*, user: Any, source: str, query: str, format_key: str) -> ExportFile:
    """Record the file and queue the job that writes it (one transaction: both or neither). The query is
    checked here first, so a refused filter answers the request instead of failing in the worker."""
    format_key = (format_key or "").lower()
    if format_key not in EXPORT_FORMATS:
        raise ValidationError(f"Choose an export format: {FORMATS_TEXT}.", code="format")
    rows = export_source_build(source, user, query, format_key)
    with transaction.atomic():
        export = ExportFile.objects.create(
            source=source,
            query=query,
            format_key=format_key,
            file_name=export_filename(rows.filename_stem, format_key),
            requested_by=user,
            organization_id=getattr(user, "organization_id", None),
        )
        export.job = job_run_start(EXPORT_JOB, user, EXPORT_TASK, export_id=export.pk)
        export.save(update_fields=["job"])
    return export


class _PartSink:
    """A binary file whose bytes become ExportFilePart rows of CUSTODIAN_EXPORT_PART_BYTES as they come."""

    def __init__(self, export_id: int) -> None:
        self.export_id = export_id
        self.part_bytes = settings.CUSTODIAN_EXPORT_PART_BYTES
        self.buffer = bytearray()
        self.number = 0
        self.size = 0
        self.rows = 0  # written so far, kept on the file with each part (what its page shows)

    def write(self, data: bytes) -> int:
        self.buffer += data
        while len(self.buffer) >= self.part_bytes:
            self._flush(bytes(self.buffer[: self.part_bytes]))
            del self.buffer[: self.part_bytes]
        return len(data)

    def close(self) -> None:
        if self.buffer or not self.number:
            self._flush(bytes(self.buffer))
            self.buffer.clear()

    def _flush(self, data: bytes) -> None:
        self.number += 1
        self.size += len(data)
        # Each part commits on its own: a killed worker leaves earlier parts behind, but the file stays
        # "being written" (never downloadable) and its retry deletes them first.
        ExportFilePart.objects.create(export_id=self.export_id, number=self.number, data=data)
        ExportFile.objects.filter(pk=self.export_id).update(size_bytes=self.size, rows=self.rows)


def _counted(rows: Iterable[Sequence[Any]], sink: _PartSink, limit: int | None, report: Callable) -> Iterator:
    """`rows` up to `limit`, counting them on the sink and reporting progress every PROGRESS_EVERY."""
    for row in rows if limit is None else islice(rows, limit):
        sink.rows += 1
        if sink.rows % PROGRESS_EVERY == 0:
            report(sink.rows)
        yield row


def _write_csv(sink: _PartSink, headers: list[str], rows: Iterable[Sequence[Any]]) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        if text.tell() >= sink.part_bytes:
            sink.write(text.getvalue().encode())
            text.seek(0)
            text.truncate()
    sink.write(text.getvalue().encode())


def _write_json(sink: _PartSink, headers: list[str], rows: Iterable[Sequence[Any]]) -> None:
    """tablib's JSON (a list of objects keyed by column, its value handler), one row at a time."""
    separator = b"["
    for row in rows:
        item = json.dumps(
            dict(zip(headers, row, strict=False)), default=serialize_objects_handler, ensure_ascii=False
        )
        sink.write(separator + item.encode())
        separator = b", "
    sink.write(b"[]" if separator == b"[" else b"]")


def _write_xlsx(sink: _PartSink, headers: list[str], rows: Iterable[Sequence[Any]], title: str) -> None:
    # openpyxl writes a zip at the end: the workbook goes to a temporary file, then into parts.
    with tempfile.TemporaryFile() as workbook:
        xlsx_write(workbook, headers, rows, title=title)
        workbook.seek(0)
        while chunk := workbook.read(sink.part_bytes):
            sink.write(chunk)


def _fail(export_id: int, error: str) -> None:
    ExportFile.objects.filter(pk=export_id).exclude(status=ExportFile.Status.READY).update(
        status=ExportFile.Status.FAILED, error=error[:2000], finished_at=Now()
    )


def _summary(export: ExportFile) -> dict:
    return {"export": export.pk, "status": export.status, "rows": export.rows, "truncated": export.truncated}


def export_file_write(*, export_id: int, job_run_id: int | None = None) -> dict:
    """The job's body: the file's rows as its requester may export them now, written into parts."""
    export = ExportFile.objects.select_related("requested_by").get(pk=export_id)
    if export.status == ExportFile.Status.READY:
        return _summary(export)  # written already (a job delivered twice)
    # What an earlier, killed or failed attempt left (parts commit one by one as they are written).
    ExportFilePart.objects.filter(export_id=export_id).delete()
    if export.status != ExportFile.Status.WRITING or export.rows or export.size_bytes:
        ExportFile.objects.filter(pk=export_id).update(
            status=ExportFile.Status.WRITING, rows=0, size_bytes=0, error="", finished_at=None
        )
    try:
        source = export_source_build(export.source, export.requested_by, export.query, export.format_key)
    except ValidationError as error:
        _fail(export_id, " ".join(error.messages))
        raise
    limit = source.max_rows
    if export.format_key == "xlsx":
        limit = XLSX_MAX_ROWS if limit is None else min(limit, XLSX_MAX_ROWS)
    progress = job_progress(job_run_id)
    total = source.count() if source.count is not None else None
    if limit is not None and total is not None:
        total = min(total, limit)

    def report(done: int) -> None:
        progress(done, max(done, total or 0))

    report(0)
    sink = _PartSink(export_id)
    # One row past the cap, to know whether the cap cut the file short.
    rows = iter(source.rows)
    counted = _counted(rows, sink, limit, report)
    try:
        if export.format_key == "csv":
            _write_csv(sink, source.headers, counted)
        elif export.format_key == "json":
            _write_json(sink, source.headers, counted)
        else:
            _write_xlsx(sink, source.headers, counted, source.title)
        truncated = limit is not None and next(rows, None) is not None
        sink.close()
    except Exception as error:  # a cancel (JobAborted) too: the file is not offered
        _fail(export_id, f"{type(error).__name__}: {error}")
        raise
    report(sink.rows)
    ExportFile.objects.filter(pk=export_id, status=ExportFile.Status.WRITING).update(
        status=ExportFile.Status.READY,
        rows=sink.rows,
        size_bytes=sink.size,
        truncated=truncated,
        finished_at=Now(),
    )
    export.refresh_from_db()
    return _summary(export)


def export_files_prune(older_than_hours: int | None = None) -> int:
    """Delete export files older than CUSTODIAN_EXPORT_FILE_TTL_HOURS (their parts first, in one DELETE);
    a file whose job is still queued or running is kept. Returns how many files went."""
    hours = older_than_hours if older_than_hours is not None else settings.CUSTODIAN_EXPORT_FILE_TTL_HOURS
    cutoff = timezone.now() - timedelta(hours=hours)
    old = ExportFile.objects.filter(created_at__lt=cutoff).exclude(job__status__in=JobRun.UNFINISHED)
    ids = list(old.values_list("pk", flat=True))
    if not ids:
        return 0
    ExportFilePart.objects.filter(export_id__in=ids).delete()
    deleted, _ = ExportFile.objects.filter(pk__in=ids).delete()
    return len(ids) if deleted else 0
