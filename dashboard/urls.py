from django.urls import include, path

from dashboard.dataio.views import import_errors_export_view
from dashboard.dbhealth.views import index_findings_export_view
from dashboard.exports.views import export_file_download_view, export_file_view
from dashboard.jobs.views import job_run_cancel_view, job_run_retry_view, job_run_status_view
from dashboard.trash.views import trash_export_view

app_name = "dashboard"
urlpatterns: list = [
    path("jobs/<int:job_run_id>/status/", job_run_status_view, name="job_run_status"),
    path("jobs/<int:job_run_id>/retry/", job_run_retry_view, name="job_run_retry"),
    path("jobs/<int:job_run_id>/cancel/", job_run_cancel_view, name="job_run_cancel"),
    path("trash/", include("dashboard.trash.urls")),
    path("validation/", include("dashboard.validation.urls")),
    path("hooks/", include("dashboard.hooks.urls")),
    path("dbhealth/", include("dashboard.dbhealth.urls")),
    path("imports/", include("dashboard.dataio.urls")),
    # Report downloads: each capability's own export view (dashboard.exports answers), under one prefix.
    path(
        "exports/",
        include(
            (
                [
                    path("trash/", trash_export_view, name="trash_export"),
                    path("index-findings/", index_findings_export_view, name="index_findings_export"),
                    path("imports/<int:upload_id>/errors/", import_errors_export_view, name="import_errors"),
                    # Files written by a background job (exports above CUSTODIAN_EXPORT_SYNC_MAX_ROWS).
                    path("files/<int:export_id>/", export_file_view, name="file"),
                    path("files/<int:export_id>/download/", export_file_download_view, name="file_download"),
                ],
                "exports",
            )
        ),
    ),
]
