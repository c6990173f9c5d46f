"""Retention: auto_delete_at = deleted_at + days, days from the setting or the organization's override."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from models_core.models import Organization, Ticket, TicketComment, User
from models_core.retention import retention_days_for, retention_settings_validate
from tests.factories import OrganizationFactory, TicketCommentFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


def days_kept(row) -> float:
    row = type(row).all_objects.get(pk=row.pk)
    return (row.auto_delete_at - row.deleted_at) / datetime.timedelta(days=1)


def test_the_default_comes_from_the_setting(settings):
    settings.CUSTODIAN_DEFAULT_RETENTION_DAYS = 7
    ticket = TicketFactory()
    ticket.soft_delete()
    assert days_kept(ticket) == 7


def test_the_organization_overrides_per_model_and_by_default():
    org = OrganizationFactory(settings={"retention_days": {"ticket": 90, "default": 60}})
    ticket = TicketFactory(organization=org)
    comment = TicketCommentFactory(ticket=TicketFactory(organization=org, customer=ticket.customer))
    ticket.soft_delete()
    comment.soft_delete()
    assert days_kept(ticket) == 90
    assert days_kept(comment) == 60


def test_a_batch_shares_its_roots_deadline():
    org = OrganizationFactory(settings={"retention_days": {"ticket": 90, "ticketcomment": 5}})
    comment = TicketCommentFactory(ticket=TicketFactory(organization=org))
    comment.ticket.soft_delete()
    assert days_kept(comment) == 90  # the comment goes when its ticket goes, not before


def test_one_statement_stamps_rows_of_several_organizations():
    short = TicketFactory(organization=OrganizationFactory(settings={"retention_days": {"default": 3}}))
    long = TicketFactory(organization=OrganizationFactory(settings={"retention_days": {"ticket": 400}}))
    plain = TicketFactory()
    Ticket.objects.filter(pk__in=[short.pk, long.pk, plain.pk]).delete()
    assert [days_kept(t) for t in (short, long, plain)] == [3, 400, 30]


def test_platform_staff_and_organizations_use_their_own_keys():
    staff = UserFactory(organization=None)
    staff.soft_delete()
    assert days_kept(staff) == 30
    org = OrganizationFactory(settings={"retention_days": {"organization": 365, "user": 1}})
    org.soft_delete()
    assert days_kept(org) == 365
    assert days_kept(User.all_objects.filter(organization=org).first() or org) == 365


def test_bad_values_stored_anyway_never_break_a_delete():
    org = OrganizationFactory()
    Organization.objects.filter(pk=org.pk).update(
        settings={"retention_days": {"ticket": "soon", "default": -4}}
    )
    ticket = TicketFactory(organization=org)
    ticket.soft_delete()
    assert days_kept(ticket) == 30


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"retention_days": {}},
        {"retention_days": {"default": 0, "ticket": 90, "ticketcomment": 14}},
        {"theme": "dark", "retention_days": {"knowledgebasearticle": 36500}},
    ],
)
def test_valid_settings(value):
    retention_settings_validate(value)
    OrganizationFactory.build(settings=value).full_clean()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"retention_days": 30}, "must be an object"),
        ({"retention_days": {"ticket": -1}}, "must be whole days"),
        ({"retention_days": {"ticket": 1.5}}, "must be whole days"),
        ({"retention_days": {"ticket": "30"}}, "must be whole days"),
        ({"retention_days": {"ticket": True}}, "must be whole days"),
        ({"retention_days": {"ticket": 36501}}, "must be whole days"),
        ({"retention_days": {"tickets": 30}}, "unknown key 'tickets'"),
        ([], "must be a JSON object"),
    ],
)
def test_invalid_settings_are_refused_with_a_message(value, message):
    with pytest.raises(ValidationError) as excinfo:
        OrganizationFactory.build(settings=value).full_clean()
    assert message in " ".join(excinfo.value.message_dict["settings"])


@pytest.mark.parametrize(
    ("value", "model", "days"),
    [
        ({}, Ticket, 30),
        ({"retention_days": {"default": 60}}, Ticket, 60),
        ({"retention_days": {"ticket": 90, "default": 60}}, Ticket, 90),
        ({"retention_days": {"ticket": 90, "default": 60}}, TicketComment, 60),
        ({"retention_days": {"ticket": "x", "default": 12}}, Ticket, 12),
    ],
)
def test_python_and_sql_agree(value, model, days):
    org = OrganizationFactory()
    Organization.objects.filter(pk=org.pk).update(settings=value)
    assert retention_days_for(model, value) == days
    row = (
        TicketFactory(organization=org) if model is Ticket else TicketCommentFactory(ticket__organization=org)
    )
    row.soft_delete()
    assert days_kept(row) == days
