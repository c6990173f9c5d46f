"""Hard delete (what purge will do) follows the foreign keys' on_delete rules coherently with the cascades."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import RestrictedError

from dashboard.trash.models import PurgeRecord
from models_core.models import (
    KnowledgeBaseArticle,
    Organization,
    SLAPolicy,
    Ticket,
    TicketAttachment,
    TicketComment,
    User,
    UserPermission,
    UserSession,
)
from models_core.purge import purge_roots
from tests.factories import TicketCommentFactory, TicketFactory, UserFactory, build_tenant

pytestmark = pytest.mark.django_db


def test_purging_an_organization_removes_everything_it_owns():
    org = build_tenant(tickets=2)
    other = build_tenant(tickets=1)
    org.soft_delete()
    Organization.all_objects.filter(pk=org.pk).hard_delete()
    for model in (User, Ticket, TicketComment, TicketAttachment, KnowledgeBaseArticle, SLAPolicy):
        assert (
            model.all_objects.exclude(
                pk__in=model.all_objects.filter(
                    **{"organization": other}
                    if hasattr(model, "organization")
                    else {"ticket__organization": other}
                ).values("pk")
            ).count()
            == 0
        ), model
    assert UserSession.objects.count() == 1 and UserPermission.objects.count() == 1  # the other tenant's


def test_a_customer_with_tickets_cannot_be_purged_alone():
    ticket = TicketFactory()
    with pytest.raises(RestrictedError):
        ticket.customer.hard_delete()


def test_purging_an_agent_unassigns_and_unattributes():
    agent = UserFactory()
    ticket = TicketFactory(organization=agent.organization, assigned_agent=agent)
    comment = TicketCommentFactory(ticket=ticket, author=agent)
    ticket.soft_delete(user=agent)
    agent.hard_delete()
    ticket = Ticket.all_objects.get(pk=ticket.pk)
    assert ticket.assigned_agent is None and ticket.deleted_by is None
    assert TicketComment.all_objects.get(pk=comment.pk).author is None


# The purge engine itself (models_core.purge): the model layer purges without the console's trash app.


def test_purge_roots_removes_a_trashed_batch_and_tells_the_caller_first():
    ticket = TicketFactory()
    TicketCommentFactory.create_batch(2, ticket=ticket)
    ticket.soft_delete(reason="gone")
    seen = []
    [(root, counts)] = purge_roots(
        [Ticket.all_objects.get(pk=ticket.pk)],
        before_delete=lambda row: seen.append((row.pk, row.deleted_at)),
    )
    assert root.pk == ticket.pk or root.pk is None
    assert seen and seen[0][0] == ticket.pk and seen[0][1] is not None
    assert counts["models_core.Ticket"] == 1 and counts["models_core.TicketComment"] == 2
    assert not Ticket.all_objects.filter(pk=ticket.pk).exists()
    assert not PurgeRecord.objects.exists()  # records are the trash's business, not the engine's


def test_purge_roots_refuses_a_row_that_is_not_in_the_trash():
    ticket = TicketFactory()
    with pytest.raises(ValidationError, match="is not in the trash any more"):
        purge_roots([ticket])
    assert Ticket.objects.filter(pk=ticket.pk).exists()
