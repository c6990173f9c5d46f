from django.urls import path

from dashboard.jobs.views import job_run_status_view

app_name = "dashboard"
urlpatterns: list = [
    path("jobs/<int:job_run_id>/status/", job_run_status_view, name="job_run_status"),
]
