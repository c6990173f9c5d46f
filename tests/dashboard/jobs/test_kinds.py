"""dashboard.jobs.kinds: a kind's permission, name in words and result page, registered by its capability."""

import pytest

from dashboard.jobs import kinds
from dashboard.jobs.models import JobRun


@pytest.fixture
def clean_kinds(monkeypatch):
    monkeypatch.setattr(kinds, "_KINDS", {})


def test_a_kind_keeps_its_permission(clean_kinds):
    kinds.job_kind_register("report_build", permission="dashboard.view_report")
    kinds.job_kind_register("report_build", permission="dashboard.view_report", label="Report")  # same: fine
    with pytest.raises(ValueError, match="already registered"):
        kinds.job_kind_register("report_build", permission="dashboard.other")
    kinds.job_kind_register("report_build", permission="dashboard.view_report")  # adds nothing, loses nothing
    assert kinds.job_kind_label("report_build") == "Report"


def test_an_unregistered_kind_is_named_in_words_and_links_nowhere(clean_kinds):
    assert kinds.job_kind_label("index_rebuild.step") == "Index rebuild: step"
    assert kinds.job_run_result_link(JobRun(kind="index_rebuild")) is None


def test_a_kind_without_a_permission_is_nobody_elses(clean_kinds, django_user_model):
    kinds.job_kind_register(
        "solo", permission=None, label="Solo run", result_url=lambda run: f"/solo/{run.pk}/"
    )
    user = django_user_model(is_superuser=True)
    assert kinds.job_kinds_with_permission(user) == []
    assert kinds.job_kind_label("solo") == "Solo run"
    link = kinds.job_run_result_link(JobRun(pk=4, kind="solo"))
    assert (link.title, link.url) == ("See what it did", "/solo/4/")


def test_a_result_value_is_read_only_from_an_object():
    assert kinds.job_run_result_value(JobRun(result={"scan_id": 3}), "scan_id") == 3
    assert kinds.job_run_result_value(JobRun(result=None), "scan_id") is None
    assert kinds.job_run_result_value(JobRun(result=[1, 2]), "scan_id") is None
