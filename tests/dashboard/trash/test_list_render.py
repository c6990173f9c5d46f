"""The trash list's rendering does not grow with its rows, and the unbound filter form is not re-rendered
widget by widget on every visit (no timings: counts of template renders and URL reversals)."""

import django.urls
import pytest
from django.urls import reverse

from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db

TRASH = reverse("dashboard:trash:list")


def trash_tickets(organization, n: int) -> None:
    for ticket in TicketFactory.create_batch(n, organization=organization):
        ticket.soft_delete(reason="duplicate")


@pytest.fixture
def url_tags(monkeypatch):
    """How many times templates' {% url %} tags reversed a URL (the tag imports django.urls.reverse when it
    renders)."""
    calls = []
    real = django.urls.reverse

    def counting(*args, **kwargs):
        calls.append(args[0] if args else kwargs.get("viewname"))
        return real(*args, **kwargs)

    monkeypatch.setattr(django.urls, "reverse", counting)
    return calls


def visit(client, url_tags) -> tuple[str, list[str], int]:
    url_tags.clear()
    response = client.get(TRASH)
    assert response.status_code == 200
    return response.content.decode(), [t.name for t in response.templates], len(url_tags)


def test_rows_cost_no_template_work_of_their_own(client, manager, url_tags):
    trash_tickets(manager.organization, 2)
    client.force_login(manager)
    visit(client, url_tags)  # the unbound filter form is rendered on a process's first visit only
    body, few_templates, few_urls = visit(client, url_tags)
    assert body.count('data-testid="trash-row"') == 2
    trash_tickets(manager.organization, 23)
    body, many_templates, many_urls = visit(client, url_tags)
    assert body.count('data-testid="trash-row"') == 25
    assert many_urls == few_urls and len(many_templates) == len(few_templates)


def test_the_unbound_filter_form_is_rendered_once_per_process(client, manager, url_tags):
    trash_tickets(manager.organization, 1)
    client.force_login(manager)
    first, _, _ = visit(client, url_tags)
    again, templates, _ = visit(client, url_tags)
    assert not [t for t in templates if t.startswith("django/forms/widgets/")]
    start = first.index('data-testid="trash-filters"')
    assert again[start : again.index("</form>", start)] == first[start : first.index("</form>", start)]
    # A filtered list renders its form with the values given.
    filtered = client.get(TRASH, {"reason": "dupl"}).content.decode()
    assert 'name="reason" value="dupl"' in filtered


def test_a_row_says_what_the_template_said(client, platform_superuser, organization, url_tags):
    ticket = TicketFactory(organization=organization, subject="Printer <b>on</b> fire")
    ticket.soft_delete(reason="a <script> reason")
    client.force_login(platform_superuser)
    body, _, _ = visit(client, url_tags)
    row = body[
        body.index('data-testid="trash-row"') : body.index("</tr>", body.index('data-testid="trash-row"'))
    ]
    assert "Printer &lt;b&gt;on&lt;/b&gt; fire" in row and "a &lt;script&gt; reason" in row
    assert f'href="/dashboard/trash/models_core.ticket/{ticket.pk}/"' in row
    assert f"<td>{organization.name}</td>" in row and "30 days" in row and "<td>yes</td>" in row


def reference_cells(row) -> list[str]:
    """The row's cells as Django's own helpers write them (format_html escaping, date_format, truncatechars):
    what dashboard/trash/table.py must match while writing them more cheaply."""
    from django.template.defaultfilters import truncatechars
    from django.utils.formats import date_format
    from django.utils.html import format_html
    from django.utils.timezone import localtime

    from dashboard.templatetags.custodian_display import person

    obj = row.obj
    return [
        format_html('">{}</a></td>', truncatechars(str(obj), 60)),
        format_html("<td>{}</td>", row.organization or "—"),
        format_html("<td>{}</td>", person(obj.deleted_by)),
        format_html(
            '<td class="whitespace-nowrap">{}</td>', date_format(localtime(obj.deleted_at), "Y-m-d H:i")
        ),
        format_html("<td>{}</td>", truncatechars(obj.delete_reason or "—", 60)),
    ]


@pytest.mark.parametrize(
    "subject, reason",
    [
        ("<img src=x onerror=alert(1)> & \"quotes\" 'single'", "<script>alert('x')</script>"),
        ("a" * 59 + "é", "b" * 61),  # one under the cut, one over
        ("e\u0301" * 40, "x" * 200),  # combining marks: 80 code points, 40 characters
        ("plain", ""),
    ],
    ids=["markup", "cut", "combining-marks", "no-reason"],
)
def test_every_cell_is_escaped_cut_and_dated_as_django_writes_it(
    subject, reason, make_staff, organization, settings
):
    from dashboard.trash import listing
    from dashboard.trash.table import trash_table_rows

    settings.TIME_ZONE = "America/New_York"  # the list shows local times
    organization.name = "Org <b>bold</b> & co"
    organization.save()
    deleter = make_staff(None, first_name="<i>Ann</i>", last_name='O\'Neil & "Co"')
    ticket = TicketFactory(organization=organization, subject=subject)
    ticket.soft_delete(reason=reason, user=deleter)
    platform = make_staff(None, organization=None, is_superuser=True)
    (row,) = listing.trash_list(platform, listing.TrashFilters(), None).rows
    html = trash_table_rows([row], is_platform=True, checkbox_class="c")
    for cell in reference_cells(row):
        assert cell in html, (cell, html)
    assert "<script>" not in html and "<img" not in html and "<i>" not in html and "<b>" not in html
