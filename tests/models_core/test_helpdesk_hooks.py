"""The helpdesk's real hooks, through the ordinary write paths."""

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone
from psycopg.types.range import DateRange

from models_core.models import KnowledgeBaseArticle, Ticket, TicketComment
from tests.factories import (
    CustomerFactory,
    KnowledgeBaseArticleFactory,
    OrganizationFactory,
    SLAPolicyFactory,
    TicketCommentFactory,
    TicketFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
HOUR = datetime.timedelta(hours=1)


def test_resolved_at_is_stamped_when_a_ticket_becomes_resolved():
    ticket = TicketFactory()
    assert ticket.resolved_at is None
    ticket.status = Ticket.Status.RESOLVED
    ticket.save(update_fields=["status"])  # the hook adds resolved_at to the saved fields
    stamped = Ticket.objects.get(pk=ticket.pk).resolved_at
    assert stamped is not None and stamped >= ticket.created_at
    ticket.status = Ticket.Status.CLOSED
    ticket.save()
    assert Ticket.objects.get(pk=ticket.pk).resolved_at == stamped  # not moved by a later change


def test_new_ticket_takes_its_deadlines_from_the_matching_sla_policy():
    org = OrganizationFactory()
    SLAPolicyFactory(organization=org, priority=Ticket.Priority.LOW, first_response_minutes=5)
    SLAPolicyFactory(
        organization=org,
        priority=Ticket.Priority.HIGH,
        first_response_minutes=60,
        resolution_minutes=480,
        validity=DateRange(datetime.date(2020, 1, 1), None),
    )
    ticket = TicketFactory(organization=org, priority=Ticket.Priority.HIGH)
    ticket.refresh_from_db()
    assert ticket.first_response_due == ticket.created_at + HOUR
    assert ticket.resolution_due == ticket.created_at + 8 * HOUR
    other = TicketFactory(organization=org, priority=Ticket.Priority.URGENT)  # no policy for urgent
    assert other.first_response_due is None and other.resolution_due is None


def test_disabled_or_expired_policies_do_not_apply():
    org = OrganizationFactory()
    SLAPolicyFactory(organization=org, priority=Ticket.Priority.HIGH, is_active=False)
    SLAPolicyFactory(
        organization=org,
        priority=Ticket.Priority.HIGH,
        validity=DateRange(datetime.date(2020, 1, 1), datetime.date(2021, 1, 1)),
    )
    assert TicketFactory(organization=org, priority=Ticket.Priority.HIGH).first_response_due is None


def test_first_agent_reply_sets_first_response_and_time_to_it():
    org = OrganizationFactory()
    customer = CustomerFactory(organization=org)
    agent = UserFactory(organization=org)
    ticket = TicketFactory(organization=org, customer=customer)
    TicketCommentFactory(ticket=ticket, author=customer)  # the customer's own follow-up is no response
    TicketCommentFactory(ticket=ticket, author=agent, comment_type=TicketComment.CommentType.INTERNAL)
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None and ticket.time_to_first_response is None

    reply = TicketCommentFactory(ticket=ticket, author=agent, created_at=ticket.created_at + 2 * HOUR)
    ticket.refresh_from_db()
    assert ticket.first_responded_at == reply.created_at
    assert ticket.time_to_first_response == 2 * HOUR
    TicketCommentFactory(ticket=ticket, author=agent, created_at=ticket.created_at + 5 * HOUR)
    ticket.refresh_from_db()
    assert ticket.time_to_first_response == 2 * HOUR  # only the first reply counts


def test_late_first_response_flags_the_sla_breach():
    org = OrganizationFactory()
    SLAPolicyFactory(organization=org, priority=Ticket.Priority.HIGH, first_response_minutes=60)
    agent = UserFactory(organization=org)
    on_time = TicketFactory(organization=org, priority=Ticket.Priority.HIGH)
    late = TicketFactory(organization=org, priority=Ticket.Priority.HIGH)
    TicketCommentFactory(ticket=on_time, author=agent, created_at=on_time.created_at + HOUR / 2)
    TicketCommentFactory(ticket=late, author=agent, created_at=late.created_at + 2 * HOUR)
    on_time.refresh_from_db()
    late.refresh_from_db()
    assert (on_time.sla_breach, late.sla_breach) == (False, True)


def test_open_ticket_past_its_resolution_deadline_is_flagged_on_save_and_stays_flagged():
    now = timezone.now()
    ticket = TicketFactory(first_response_due=now + HOUR, resolution_due=now - HOUR)
    assert Ticket.objects.get(pk=ticket.pk).sla_breach is True
    ticket.resolution_due = now + 10 * HOUR
    ticket.save()
    assert Ticket.objects.get(pk=ticket.pk).sla_breach is True


def test_ticket_resolved_in_time_is_not_flagged():
    now = timezone.now()
    ticket = TicketFactory(first_response_due=now + HOUR, resolution_due=now + 2 * HOUR)
    ticket.status = Ticket.Status.RESOLVED
    ticket.save()
    assert Ticket.objects.get(pk=ticket.pk).sla_breach is False


def test_article_without_slug_gets_one_from_its_title():
    article = KnowledgeBaseArticleFactory(title="Resetting your Password", slug="")
    assert KnowledgeBaseArticle.objects.get(pk=article.pk).slug == "resetting-your-password"
    kept = KnowledgeBaseArticleFactory(title="Something", slug="custom")
    assert KnowledgeBaseArticle.objects.get(pk=kept.pk).slug == "custom"


def test_restoring_a_user_records_who_did_it_after_commit(django_capture_on_commit_callbacks):
    admin = UserFactory(organization=None, is_staff=True)
    account = UserFactory()
    account.soft_delete(user=admin)
    with django_capture_on_commit_callbacks(execute=True):
        account.restore(user=admin)
        assert not LogEntry.objects.filter(object_id=str(account.pk)).exists()  # not before commit
    entry = LogEntry.objects.get(object_id=str(account.pk))
    assert entry.user_id == admin.pk
    assert "restored from the trash" in entry.change_message
    assert entry.get_change_message().startswith("Account restored")


def test_users_restored_with_their_organization_are_recorded_too(django_capture_on_commit_callbacks):
    admin = UserFactory(organization=None, is_staff=True)
    org = OrganizationFactory()
    accounts = UserFactory.create_batch(2, organization=org)
    org.soft_delete(user=admin)
    with django_capture_on_commit_callbacks(execute=True):
        org.restore(user=admin)
    assert set(
        LogEntry.objects.filter(user=admin, change_message__startswith="Account restored").values_list(
            "object_id", flat=True
        )
    ) == {str(a.pk) for a in accounts}
