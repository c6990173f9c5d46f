"""In a real browser: the Content-Security-Policy breaks nothing (no violation reported on the main pages,
menus open, charts draw), and an organization-bound admin replaying another organization's ids gets
nothing of it."""

import pytest
from playwright.sync_api import expect

from dashboard.dbhealth.models import SnapshotRun
from dashboard.jobs.models import JobRun
from models_core.models import Ticket
from tests.factories import OrganizationFactory, TicketFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def collect_csp_violations(page) -> list[str]:
    seen: list[str] = []
    page.on(
        "console",
        lambda msg: seen.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return seen


PAGES = [
    "/",
    "/dashboard/trash/",
    "/dashboard/trash/retention/",
    "/dashboard/trash/purges/",
    "/dashboard/validation/",
    "/dashboard/hooks/",
    "/models_core/ticket/",
    "/models_core/user/",
]


def test_main_pages_report_no_csp_violation_and_still_work(page, sign_in, org_admin, live_server):
    TicketFactory(organization=org_admin.organization, subject="Printer on fire").soft_delete(
        user=org_admin, reason="test"
    )
    violations = collect_csp_violations(page)
    sign_in(org_admin)
    for path in PAGES:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
    assert violations == []
    # Alpine (unfold's menus, our select-all box) runs under the policy.
    page.goto(live_server.url + "/dashboard/trash/")
    assert page.evaluate("typeof window.Alpine") == "object"
    page.get_by_label("Select all").check()
    expect(page.locator("input[name=items]").first).to_be_checked()
    assert violations == []


def test_charts_draw_under_the_policy(page, sign_in, dba, live_server):
    from django.core.management import call_command

    SnapshotRun.objects.all().delete()
    call_command("dbhealth_snapshot", verbosity=0)
    violations = collect_csp_violations(page)
    sign_in(dba)
    page.goto(live_server.url + "/dashboard/dbhealth/indexes/")
    expect(page.locator("#dbh-scans .main-svg").first).to_be_visible()
    assert violations == []
    assert JobRun.objects.count() >= 0


def test_org_admin_replaying_other_organizations_ids_sees_nothing(page, sign_in, org_admin, live_server):
    globex = OrganizationFactory(name="Globexian Corp", slug="globexian")
    stranger = UserFactory(organization=globex, first_name="Ulla", last_name="Quarrington")
    theirs = TicketFactory(organization=globex, subject="Zeppelin-subject", assigned_agent=stranger)
    sign_in(org_admin)
    for path in (
        f"/models_core/ticket/?assigned_agent__id__exact={stranger.pk}",
        f"/models_core/usersession/?user__id__exact={stranger.pk}",
        f"/models_core/ticket/{theirs.pk}/change/",
        f"/models_core/user/add/?organization={globex.pk}",
        f"/dashboard/trash/retention/?organization={globex.pk}",
        "/models_core/organization/add/",
    ):
        page.goto(live_server.url + path)
        text = page.content()
        assert "Quarrington" not in text and "Zeppelin" not in text and "Globexian" not in text, path
    # A replayed change POST that empties the organization (the escalation) changes nothing.
    page.goto(live_server.url + f"/models_core/user/{org_admin.pk}/change/")
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    response = page.request.post(
        live_server.url + f"/models_core/user/{org_admin.pk}/change/",
        form={
            "csrfmiddlewaretoken": token,
            "username": org_admin.username,
            "organization": "",
            "is_superuser": "on",
        },
        headers={"Referer": live_server.url + f"/models_core/user/{org_admin.pk}/change/"},
    )
    assert response.status < 500
    org_admin.refresh_from_db()
    assert org_admin.organization_id is not None and not org_admin.is_superuser
    assert Ticket.objects.filter(pk=theirs.pk, subject="Zeppelin-subject").exists()
