"""The JSON fields' help under their editors is written for the person using a tag input or name/value rows,
not a description of the stored JSON; bad JSON posted past the editor is a form error, never a 500."""

import re

import pytest

from tests.factories import TicketFactory, UserFactory
from tests.htmlforms import untouched_form

pytestmark = pytest.mark.django_db


def help_text(page: str, field: str) -> str:
    """The help unfold renders under the field's widget (the first help block after it)."""
    found = re.search(rf'<textarea[^>]*name="{field}".*?class="leading-relaxed[^"]*">(.*?)</div>', page, re.S)
    assert found, field
    return found.group(1).strip()


def test_a_users_skills_and_certifications_are_explained_for_a_tag_input(client, org_admin, organization):
    user = UserFactory(organization=organization, skills=["french"])
    client.force_login(org_admin)
    page = client.get(f"/models_core/user/{user.pk}/change/").content.decode()
    for field in ("skills", "certifications"):
        assert 'data-json-widget="tags"' in re.search(rf'<textarea[^>]*name="{field}"[^>]*>', page).group(0)
        text = help_text(page, field)
        assert "press Enter" in text, (field, text)
        assert "JSON" not in text, (field, text)


def test_a_tickets_tags_and_custom_fields_are_explained_for_their_editors(client, org_admin, organization):
    ticket = TicketFactory(organization=organization)
    client.force_login(org_admin)
    page = client.get(f"/models_core/ticket/{ticket.pk}/change/").content.decode()
    assert "press Enter" in help_text(page, "tags")
    assert "Add a field" in help_text(page, "custom_fields")
    assert "JSON" not in help_text(page, "tags") + help_text(page, "custom_fields")


@pytest.mark.parametrize("posted", ["{not json", '{"a": 1}', "[1, 2]", '["a", "a"]', '"x"', ""])
def test_skills_posted_as_anything_but_a_list_of_names_is_a_form_error(
    client, org_admin, organization, posted
):
    user = UserFactory(organization=organization, skills=["french"])
    client.force_login(org_admin)
    url = f"/models_core/user/{user.pk}/change/"
    data, _ = untouched_form(client.get(url).content.decode(), "user_form")
    data.update(skills=[posted], _save=["Save"])
    response = client.post(url, data)
    assert response.status_code == 200  # the form again, with its error
    assert "Please correct the error" in response.content.decode()
    user.refresh_from_db()
    assert user.skills == ["french"]
