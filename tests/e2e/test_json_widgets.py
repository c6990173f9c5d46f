"""The ticket form edits tags with a tag input and custom fields as name/value rows, not raw JSON."""

import pytest
from playwright.sync_api import expect

from tests.factories import TicketFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_tags_and_custom_fields_are_edited_without_typing_json(
    page, live_server, sign_in, org_admin, organization
):
    ticket = TicketFactory(organization=organization, tags=["printer"], custom_fields={"floor": 3})
    sign_in(org_admin)
    page.goto(f"{live_server.url}/models_core/ticket/{ticket.pk}/change/")

    tags = page.locator('[data-json-editor="tags"]')
    expect(tags).to_contain_text("printer")
    expect(page.locator("textarea[name=tags]")).to_be_hidden()
    tags.get_by_role("textbox").fill("urgent")
    tags.get_by_role("textbox").press("Enter")
    expect(tags).to_contain_text("urgent")

    fields = page.locator('[data-json-editor="key-value"]')
    expect(fields.locator("[data-kv-key]")).to_have_value("floor")
    fields.get_by_role("button", name="Add a row to Custom fields").click()
    fields.locator("[data-kv-key]").last.fill("building")
    fields.locator("[data-kv-value]").last.fill("North")
    page.screenshot(path="test-results/json-widgets.png", full_page=True)

    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{live_server.url}/models_core/ticket/")
    ticket.refresh_from_db()
    assert ticket.tags == ["printer", "urgent"]
    assert ticket.custom_fields == {"floor": 3, "building": "North"}


def test_a_users_skills_and_certifications_are_edited_with_tag_inputs(
    page, live_server, sign_in, org_admin, organization
):
    user = UserFactory(organization=organization, skills=["french"], certifications=[])
    sign_in(org_admin)
    page.goto(f"{live_server.url}/models_core/user/{user.pk}/change/")

    expect(page.locator("textarea[name=skills]")).to_be_hidden()
    expect(page.locator("textarea[name=certifications]")).to_be_hidden()
    expect(page.get_by_role("list", name="Skills")).to_contain_text("french")
    page.get_by_role("textbox", name="Add to Skills").fill("spanish")
    page.get_by_role("textbox", name="Add to Skills").press("Enter")
    page.get_by_role("textbox", name="Add to Certifications").fill("ITIL")
    page.get_by_role("textbox", name="Add to Certifications").press("Enter")
    expect(page.get_by_role("list", name="Certifications")).to_contain_text("ITIL")

    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{live_server.url}/models_core/user/")
    user.refresh_from_db()
    assert user.skills == ["french", "spanish"]
    assert user.certifications == ["ITIL"]
