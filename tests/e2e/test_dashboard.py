import pytest
from playwright.sync_api import expect

from dashboard.charts import render_figure
from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_run_finish, job_run_progress
from dashboard.navigation import NavigationEntry, registry

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Capabilities not yet installed on this branch (the trash and hooks register themselves: see
# tests/e2e/test_trash.py and tests/e2e/test_hooks.py).
CAPABILITY_TITLES = ("Validation", "DB health")


def sidebar(page):
    return page.locator("#nav-sidebar")


@pytest.mark.parametrize(
    ("who", "organization_text"),
    [
        ("manager", "Acme Support"),
        ("org_admin", "Acme Support"),
        ("dba", "Platform staff: every organization"),
        ("platform_superuser", "Platform staff: every organization"),
    ],
)
def test_each_group_signs_in_to_the_home_page_without_uninstalled_capability_links(
    request, page, sign_in, who, organization_text
):
    user = request.getfixturevalue(who)
    sign_in(user)
    expect(page).to_have_title("Dashboard | Custodian")
    expect(page.get_by_test_id("profile-organization")).to_have_text(organization_text)
    expect(sidebar(page).get_by_role("link", name="Home")).to_be_visible()
    for title in CAPABILITY_TITLES:
        expect(sidebar(page).get_by_role("link", name=title, exact=True)).to_have_count(0)


@pytest.fixture
def fake_trash_entry():
    entry = NavigationEntry(
        key="e2e-trash",
        title="Fake trash",
        icon="delete",
        url_name="admin:password_change",
        permission="dashboard.view_trash",
        description="Stands in for the trash until it exists.",
    )
    registry.register(entry)
    yield entry
    registry.unregister(entry.key)


def test_registered_entry_shows_for_a_user_with_its_permission(page, sign_in, manager, fake_trash_entry):
    sign_in(manager)
    link = sidebar(page).get_by_role("link", name="Fake trash")
    expect(link).to_be_visible()
    expect(page.get_by_test_id("capability-cards")).to_contain_text("Stands in for the trash")
    link.click()
    page.wait_for_url("**/password_change/")


def test_registered_entry_is_hidden_from_a_user_without_its_permission(page, sign_in, dba, fake_trash_entry):
    sign_in(dba)
    expect(sidebar(page).get_by_role("link", name="Home")).to_be_visible()
    expect(sidebar(page).get_by_role("link", name="Fake trash")).to_have_count(0)
    expect(page.get_by_test_id("capability-cards")).not_to_contain_text("Fake trash")


def test_job_progress_updates_without_reloading(page, sign_in, manager):
    run = JobRun.objects.create(kind="validation_scan", started_by=manager)
    sign_in(manager)
    item = page.locator(f'[data-job-run-status-url$="/jobs/{run.pk}/status/"]')
    expect(item.locator("[data-job-run-label]")).to_have_text("Queued")

    job_run_progress(run.pk, 5, 10)
    expect(item.locator("[data-job-run-label]")).to_have_text("Running · 50%")

    job_run_finish(run.pk, {"violations": 0})
    expect(item.locator("[data-job-run-label]")).to_have_text("Succeeded · 100%")
    expect(item).to_have_attribute("data-job-run-finished", "1")
    assert item.locator("[data-job-run-bar]").evaluate("el => el.style.width") == "100%"


def test_charts_draw_and_follow_dark_mode(page, live_server, manager, sign_in):
    import plotly.graph_objects as go

    sign_in(manager)  # any page of the site gives us its origin for the static files
    figure = go.Figure(go.Scatter(x=[1, 2, 3], y=[2, 1, 3], name="</script> scans"))
    page.set_content(
        f"""<html><head>
        <script src="{live_server.url}/static/vendor/plotly/plotly.min.js"></script>
        <script src="{live_server.url}/static/dashboard/js/charts.js"></script>
        </head><body>{render_figure(figure, "scans")}</body></html>"""
    )
    chart = page.locator("#scans")
    expect(chart.locator(".main-svg").first).to_be_attached()
    expect(chart).to_have_attribute("data-rendered-theme", "light")
    # The name with a script end tag reached Plotly intact (Plotly keeps the drawn data on the element).
    assert chart.evaluate("el => el.data[0].name") == "</script> scans"

    page.evaluate("document.documentElement.classList.add('dark')")  # what unfold's toggle does
    expect(chart).to_have_attribute("data-rendered-theme", "dark")
    page.evaluate("document.documentElement.classList.remove('dark')")
    expect(chart).to_have_attribute("data-rendered-theme", "light")


def test_unfold_dark_mode_toggle(page, sign_in, manager):
    sign_in(manager)
    page.locator("#nav-sidebar").get_by_text(manager.username, exact=True).click()  # the user menu
    page.get_by_text("Dark", exact=True).click()
    expect(page.locator("html")).to_have_class("dark")
    page.reload()  # unfold remembers the choice
    expect(page.locator("html")).to_have_class("dark")
    page.locator("#nav-sidebar").get_by_text(manager.username, exact=True).click()
    page.get_by_text("Light", exact=True).click()
    expect(page.locator("html")).not_to_have_class("dark")
