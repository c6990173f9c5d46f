"""Pages following a job load the poller with its delays from settings (the tests make it fast)."""

import pytest
from django.template import Context, Template

pytestmark = pytest.mark.django_db


def test_the_script_tag_carries_the_polling_delays(settings):
    settings.CUSTODIAN_JOB_POLL_MS = (700, 9000)
    html = Template("{% load custodian_jobs %}{% job_progress_script %}").render(Context())
    assert 'src="/static/dashboard/js/job_progress.js"' in html
    assert 'data-poll-first-ms="700"' in html and 'data-poll-max-ms="9000"' in html
    assert "defer" in html


def test_the_home_page_polls_as_fast_as_the_test_settings_say(client, manager):
    client.force_login(manager)
    page = client.get("/").content.decode()
    assert 'data-poll-first-ms="100" data-poll-max-ms="250"' in page
