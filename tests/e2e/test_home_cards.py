"""The home page's cards: each tool's card shows its whole icon and is a link that says where it goes; each
recent job links to the page that shows what it did."""

import pytest
from playwright.sync_api import expect

from dashboard.jobs.models import JobRun

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

INSIDE_JS = """(card) => {
    const icon = card.querySelector('.material-symbols-outlined');
    if (!icon) { return 'no icon'; }
    const c = card.getBoundingClientRect(), i = icon.getBoundingClientRect();
    return i.left >= c.left && i.right <= c.right && i.top >= c.top && i.bottom <= c.bottom && i.width > 0
        ? 'inside' : `icon ${JSON.stringify(i)} outside card ${JSON.stringify(c)}`;
}"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_each_tool_card_shows_its_whole_icon_and_opens_its_page(
    page, live_server, sign_in, platform_superuser, theme
):
    page.emulate_media(color_scheme=theme)
    sign_in(platform_superuser)
    cards = page.get_by_test_id("capability-cards").locator("a")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 4
    for index in range(cards.count()):
        card = cards.nth(index)
        assert card.evaluate(INSIDE_JS) == "inside", card.inner_text()
        expect(card.get_by_test_id("capability-open")).to_contain_text("Open ")
    page.screenshot(path=f"test-results/home-cards-{theme}.png", full_page=True)

    trash = cards.filter(has_text="Open Trash")
    trash.get_by_test_id("capability-open").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/trash/")


def test_a_finished_purge_links_to_what_it_did(page, live_server, sign_in, org_admin):
    run = JobRun.objects.create(
        kind="trash_purge",
        started_by=org_admin,
        organization=org_admin.organization,
        status=JobRun.Status.SUCCEEDED,
        progress_done=3,
        progress_total=3,
        result={"outcomes": [{"label": "Ticket #1", "ok": True, "message": "Purged 1 ticket."}]},
    )
    sign_in(org_admin)
    jobs = page.get_by_test_id("jobs-card")
    expect(jobs.get_by_test_id("job-name")).to_have_text(f"Purge from the trash #{run.pk}")
    jobs.get_by_role("link", name=f"See what the purge did: Purge from the trash #{run.pk}").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/trash/?job={run.pk}")
    expect(page.get_by_test_id("trash-job")).to_contain_text(f"Purge from the trash #{run.pk}")
    expect(page.get_by_test_id("trash-job-outcomes")).to_contain_text("Ticket #1: Purged 1 ticket.")
