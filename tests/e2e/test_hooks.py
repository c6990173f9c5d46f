"""The hook registry browser in a real browser: navigation, filters, statistics, source flag, reset."""

import pytest
from playwright.sync_api import expect

from dashboard.hooks.models import HookStat
from dashboard.hooks.services import hook_stats_flush
from models_core.hooks import registry as hook_registry
from tests.factories import KnowledgeBaseArticleFactory, TicketFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fresh_counters():
    hook_registry.stats_take()
    yield
    hook_registry.stats_take()


def sidebar(page):
    return page.locator("#nav-sidebar")


def test_dba_browses_filters_and_resets_hook_statistics(page, sign_in, dba, live_server):
    TicketFactory.create_batch(2)
    KnowledgeBaseArticleFactory(slug="")
    hook_stats_flush()
    HookStat.objects.filter(name__endswith="ticket_flag_sla_breach").update(source_hash="0" * 64)

    sign_in(dba)
    link = sidebar(page).locator('a[href="/dashboard/hooks/"]')
    expect(link).to_contain_text("Hooks")
    link.click()
    page.wait_for_url("**/dashboard/hooks/")
    expect(page).to_have_title("Hook registry | Custodian")
    before_save = page.locator(
        '[data-testid=hook-group][data-model="models_core.Ticket"][data-event=before_save]'
    )
    rows = before_save.get_by_test_id("hook-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("ticket_stamp_resolved_at")
    expect(rows.nth(2)).to_contain_text("ticket_flag_sla_breach")
    expect(rows.nth(0).get_by_test_id("hook-calls")).to_have_text("2")
    expect(rows.nth(0).get_by_test_id("hook-location")).to_contain_text("models_core/helpdesk_hooks.py:")
    expect(rows.nth(2).get_by_test_id("source-changed")).to_be_visible()
    expect(rows.nth(0).get_by_test_id("source-changed")).to_have_count(0)
    rows.nth(0).locator("summary").click()
    expect(rows.nth(0).get_by_test_id("hook-doc")).to_contain_text("Stamp `resolved_at`")

    # Filter to one model and event
    page.select_option("#id_model", "models_core.Ticket")
    page.select_option("#id_event", "before_save")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**/dashboard/hooks/?model=models_core.Ticket&event=before_save")
    expect(page.get_by_test_id("hook-group")).to_have_count(1)

    # Reset one hook: it restarts at zero, the flag goes, the filter stays
    flagged = page.locator('[data-hook-key$="ticket_flag_sla_breach"]')
    flagged.get_by_role("button", name="Reset").click()
    page.wait_for_url("**/dashboard/hooks/?model=models_core.Ticket&event=before_save")
    expect(page.get_by_text("The hook's statistics start again from now.")).to_be_visible()
    flagged = page.locator('[data-hook-key$="ticket_flag_sla_breach"]')
    expect(flagged.get_by_test_id("hook-calls")).to_have_text("0")
    expect(flagged.get_by_test_id("source-changed")).to_have_count(0)
    expect(flagged).to_contain_text(f"reset by {dba.username}")

    # Reset all, confirming the browser's dialog
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Reset all statistics").click()
    expect(page.get_by_text("every bypass counter start again from now")).to_be_visible()
    expect(page.get_by_test_id("summary-calls")).to_have_text("0")


def test_bad_filter_in_the_address_shows_a_message(page, sign_in, dba, live_server):
    sign_in(dba)
    response = page.goto(f"{live_server.url}/dashboard/hooks/?model=auth.Group")
    assert response.status == 400
    expect(page.get_by_test_id("filter-error")).to_contain_text("There is no hooked model")


def test_hooks_link_is_hidden_from_support_managers(page, sign_in, manager, live_server):
    sign_in(manager)
    expect(sidebar(page).get_by_role("link", name="Home")).to_be_visible()
    expect(sidebar(page).locator('a[href="/dashboard/hooks/"]')).to_have_count(0)
    response = page.goto(f"{live_server.url}/dashboard/hooks/")
    assert response.status == 403
