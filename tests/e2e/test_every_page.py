"""Every page of the site, as every role, passes axe-core (WCAG 2.1 A/AA) in light and dark mode and does
not scroll sideways at 1280 px. The walk starts from the URL conf and follows the pages' own links, so a page
added later is covered without editing this file; a route nobody reaches fails the test.

One seeded database and one signed-in browser context per role keep it to one pass over the site (what keeps
it fast is in tests/e2e/site_walk.py). Screenshots of failing pages and a summary with the walk's timings
land in test-results/every-page/.
"""

import datetime
import os
import time
import uuid

import pytest
from axes.models import AccessFailureLog
from django.apps import apps
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from dashboard.dataio.resources import TicketResource
from dashboard.dataio.tasks import preview_upload
from dashboard.dataio.uploads import import_upload_start
from dashboard.dbhealth.models import AdviceDismissal, AdvisorRun, IndexAdvice
from dashboard.exports.files import export_file_start, export_file_write
from dashboard.jobs.models import JobRun
from dashboard.tasks import prune_job_runs
from dashboard.trash import services as trash_services
from dashboard.validation import services as validation_services
from dashboard.validation.models import Violation
from dashboard.validation.selectors import rule_resolve
from models_core.demo import demo_organizations, seed_demo_data
from models_core.models import PendingFileRemoval, Ticket
from tests.e2e.site_walk import SiteWalker, Walk, is_page_route, url_routes, write_summary
from tests.factories import DEFAULT_PASSWORD, TicketAttachmentFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROLES = {
    "manager": ("Support managers", True, {}),
    "org-admin": ("Admins", True, {}),
    "dba": ("DBAs", False, {}),
    "platform": (None, False, {"is_superuser": True}),
}
# Pages the walk asks for that must answer an error, in the console's layout (checked like any page).
ERROR_PROBES = {
    "/no-such-page/": {404},
    "/dashboard/trash/models_core.ticket/999999999/": {404, 403},  # 403 for those without the trash
    "/__e2e__/server-error/": {500},
}


@pytest.fixture
def seeded_site(make_staff, settings):
    seed_demo_data(organizations=2, tickets=24, seed=7)
    acme = demo_organizations().filter(deleted_at__isnull=True).order_by("pk").first()
    users = {}
    for role, (group, bound, extra) in ROLES.items():
        users[role] = make_staff(group, organization=acme if bound else None, username=f"e2e-{role}", **extra)
    platform = users["platform"]
    # Something on every page: a finished scan, a restore and a purge in the admin log and purge records,
    # and a job on the home page.
    scan = validation_services.validation_scan_create(platform)
    validation_services.validation_scan_run(scan.pk)
    trashed = list(Ticket.all_objects.filter(organization=acme, deleted_at__isnull=False).order_by("pk")[:2])
    trash_services.trash_restore(platform, trashed[:1])
    trash_services.trash_purge(platform, trashed[1:2], "walk: a purge record to show")
    JobRun.objects.create(kind="validation_scan", started_by=users["org-admin"])
    prune_job_runs.defer()  # a procrastinate job for its admin pages
    TicketAttachmentFactory(ticket=Ticket.objects.filter(organization=acme).first())
    violation = Violation.objects.order_by("pk").first()
    model = apps.get_model(violation.model_label)
    model, rule = rule_resolve(model._meta.model_name, violation.rule_name)
    validation_services.waiver_accept(
        user=platform,
        model=model,
        rule=rule,
        instance=model._base_manager.get(pk=violation.object_id),
        reason="walk: a waiver to revoke",
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    # The index advisor's dismiss and revoke forms: one advice, one dismissal.
    run = AdvisorRun.objects.create(
        started_at=timezone.now(), finished_at=timezone.now(), status="done", statements_examined=1
    )
    IndexAdvice.objects.create(
        run=run,
        fingerprint="a" * 32,
        table_name="models_core_ticket",
        method="btree",
        definition="CREATE INDEX idx_walk ON models_core_ticket USING btree (organization_id, id)",
        proven=True,
        proof="hypopg",
        cost_before=900,
        cost_after=100,
        estimated_size_bytes=8192,
        queries=[{"queryid": 1, "statement": "SELECT 1", "calls": 3, "mean_ms": 2.5}],
        model_label="models_core.Ticket",
        meta_entry="models.Index(fields=['organization', 'id'], name='idx_walk')",
        migration="class Migration(migrations.Migration): ...",
    )
    AdviceDismissal.objects.create(
        fingerprint="b" * 32,
        definition="CREATE INDEX idx_walk_dismissed ON models_core_ticket (id)",
        reason="walk: a dismissal to revoke",
        dismissed_by=users["dba"],
        dismissed_at=timezone.now(),
    )
    # A wrong password: django-axes' access attempt page has a row to show; its failure log (off in our
    # settings, AXES_ENABLE_ACCESS_FAILURE_LOG) gets one written here, as axes would.
    Client().post("/login/", {"username": "e2e-dba", "password": "wrong"}, REMOTE_ADDR="203.0.113.9")
    AccessFailureLog.objects.create(
        username="e2e-dba", ip_address="203.0.113.9", user_agent="walk", path_info="/login/"
    )
    # A purged attachment's file waiting for removal: its admin pages have a row to show.
    PendingFileRemoval.objects.create(
        field="models_core.TicketAttachment.file", name="walk/left-behind.txt", purge_token=uuid.uuid4()
    )
    settings.ROOT_URLCONF = "tests.e2e.urls"
    # Pages only one record's state leads to: the rule page that lists the waiver (its revoke form); a large
    # import's page (its confirm form) and the errors download of one with refused rows (the org-admin's).
    previewed, refused = (large_import(users["org-admin"], priority) for priority in ("low", "whenever"))
    # An export written by a job (its page offers the download; the org-admin's).
    export = export_file_start(user=users["org-admin"], source="trash", query="format=csv", format_key="csv")
    export_file_write(export_id=export.pk, job_run_id=export.job_id)
    extra = [
        reverse("dashboard:validation:rule", args=[model._meta.model_name, rule.name]),
        reverse("dashboard:dataio_upload", args=[previewed.pk]),
        reverse("dashboard:exports:import_errors", args=[refused.pk]),
        reverse("dashboard:exports:file", args=[export.pk]),
        reverse("dashboard:exports:file_download", args=[export.pk]),
    ]
    return users, extra


def large_import(user, priority: str):
    """A large upload of tickets (a background import), previewed; `priority` "whenever" refuses its rows."""
    customer = user.organization.users.filter(role="customer").order_by("pk").first()
    lines = ["subject,customer,priority", *(f"Walk {i},{customer.pk},{priority}" for i in range(30))]
    upload = import_upload_start(
        user=user,
        resource_class=TicketResource,
        format_key="csv",
        file_name="walk.csv",
        data="\n".join(lines).encode(),
        row_count=len(lines) - 1,
    )
    preview_upload(upload_id=upload.pk, job_run_id=upload.preview_job_id)
    return upload


def signed_in_page(browser, live_server, user):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    # Every page starts light; the walker switches each page to dark through unfold's own theme state.
    context.add_init_script("localStorage.setItem('adminTheme', JSON.stringify('light'))")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return context, page


@override_settings(DEBUG=False)
def test_every_page_is_accessible_and_fits_1280px(browser, live_server, seeded_site):
    result = Walk()
    # One walker for every role: a page variant axe has checked for one role is not checked again.
    walker = SiteWalker(origin=live_server.url, result=result, expected_errors=ERROR_PROBES)
    users, extra = seeded_site
    started = time.monotonic()
    only = os.environ.get("WALK_ROLES")  # e.g. WALK_ROLES=manager,dba while fixing a page: those roles only
    for role, user in users.items():
        if only and role not in only.split(","):
            continue
        context, page = signed_in_page(browser, live_server, user)
        client = Client(raise_request_exception=False)
        client.force_login(user)
        walker.walk(page, client, role, extra=extra)
        context.close()
    result.timings.append(("walk", time.monotonic() - started))
    summary = write_summary(result)
    print(result.report())

    unreached = sorted(
        route for route in url_routes() if is_page_route(route) and route not in result.reached_routes
    )
    assert only or not unreached, (
        "Routes no role's walk reached (link them from a page, or list them in site_walk.NOT_PAGES "
        f"with why): {unreached}"
    )
    assert not result.failures, f"{len(result.failures)} problem(s) (summary: {summary}):\n" + "\n".join(
        result.failures
    )
