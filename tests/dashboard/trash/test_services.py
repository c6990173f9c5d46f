"""Trash services on PostgreSQL: restore outcomes, exact batches, purge with its record, retention."""

import datetime

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from dashboard.trash.models import PurgeRecord
from dashboard.trash.retention import retention_policy_update, trash_purge_expired
from dashboard.trash.services import trash_purge, trash_restore, trash_soft_delete
from models_core.models import (
    KnowledgeBaseArticle,
    Organization,
    Ticket,
    TicketAttachment,
    TicketComment,
    User,
)
from tests.factories import (
    KnowledgeBaseArticleFactory,
    TicketAttachmentFactory,
    TicketCommentFactory,
    TicketFactory,
    build_tenant,
)

pytestmark = pytest.mark.django_db


def fresh(obj):
    return type(obj).all_objects.get(pk=obj.pk)


@pytest.fixture
def ticket(organization):
    ticket = TicketFactory(organization=organization)
    TicketCommentFactory.create_batch(2, ticket=ticket)
    TicketAttachmentFactory(ticket=ticket)
    return ticket


class TestSoftDeleteFromTheAdmin:
    def test_moves_the_cascade_group_and_logs_each_root(self, ticket, manager):
        result = trash_soft_delete(manager, Ticket.objects.filter(pk=ticket.pk), "  duplicate  ")
        assert result.counts == {
            "models_core.Ticket": 1,
            "models_core.TicketComment": 2,
            "models_core.TicketAttachment": 1,
        }
        assert fresh(ticket).delete_reason == "duplicate"
        entry = LogEntry.objects.get(object_id=str(ticket.pk))
        assert entry.action_flag == CHANGE and "Moved to the trash" in entry.change_message

    def test_needs_a_reason_and_a_live_row(self, ticket, manager):
        with pytest.raises(ValidationError, match="Say why"):
            trash_soft_delete(manager, Ticket.objects.filter(pk=ticket.pk), " ")
        ticket.soft_delete()
        with pytest.raises(ValidationError, match="already in the trash"):
            trash_soft_delete(manager, Ticket.all_objects.filter(pk=ticket.pk), "again")


class TestRestore:
    def test_brings_back_exactly_the_batch_and_logs_it(self, ticket, manager):
        earlier = TicketCommentFactory(ticket=ticket)
        earlier.soft_delete(reason="spam")  # its own batch: must stay in the trash
        ticket.soft_delete(user=manager, reason="mistake")
        [outcome] = trash_restore(manager, [fresh(ticket)])
        assert outcome.ok and outcome.counts["models_core.TicketComment"] == 2
        assert TicketComment.objects.filter(ticket=ticket).count() == 2
        assert fresh(earlier).is_deleted
        entry = LogEntry.objects.get(object_id=str(ticket.pk), action_flag=CHANGE)
        assert entry.change_message.startswith("Restored from the trash (batch ")

    def test_conflicting_rows_stay_and_the_rest_come_back(self, organization, manager):
        taken = KnowledgeBaseArticleFactory(organization=organization, slug="faq")
        taken.soft_delete()
        KnowledgeBaseArticleFactory(organization=organization, slug="faq")  # a live row took the slug
        free = KnowledgeBaseArticleFactory(organization=organization)
        free.soft_delete()
        outcomes = trash_restore(manager, [fresh(taken), fresh(free)])
        assert [o.ok for o in outcomes] == [False, True]
        assert "a live record took its place" in outcomes[0].message
        assert fresh(taken).is_deleted and not fresh(free).is_deleted
        assert LogEntry.objects.filter(action_flag=CHANGE).count() == 1

    def test_a_parent_batch_chosen_first_unblocks_the_child(self, ticket, manager):
        comment = ticket.comments.first()
        comment.soft_delete()
        ticket.soft_delete()
        [refused] = trash_restore(manager, [fresh(comment)])
        assert not refused.ok and "first: it is in the trash" in refused.message
        outcomes = trash_restore(manager, [fresh(comment)], [fresh(ticket).deletion_batch])
        assert [o.ok for o in outcomes] == [True, True]
        assert not fresh(ticket).is_deleted and not fresh(comment).is_deleted

    def test_a_row_already_brought_back_by_an_earlier_selection_is_reported(self, ticket, manager):
        comment = ticket.comments.first()
        ticket.soft_delete()
        outcomes = trash_restore(manager, [fresh(ticket), fresh(comment)])
        assert outcomes[0].ok and not outcomes[1].ok
        assert "not in the trash any more" in outcomes[1].message

    def test_not_restorable_is_refused(self, ticket, manager):
        ticket.soft_delete()
        Ticket.all_objects.filter(pk=ticket.pk).update(can_be_restored=False)
        [outcome] = trash_restore(manager, [fresh(ticket)])
        assert not outcome.ok and "not restorable" in outcome.message


class TestPurge:
    def test_removes_the_cascade_files_after_commit_and_leaves_a_record(
        self, ticket, org_admin, django_capture_on_commit_callbacks
    ):
        attachment = ticket.attachments.get()
        name = attachment.file.name
        assert default_storage.exists(name)
        ticket.soft_delete(reason="customer left")
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            [outcome] = trash_purge(org_admin, [fresh(ticket)], "GDPR request")
        assert outcome.ok
        assert default_storage.exists(name)  # not before the commit
        for callback in callbacks:
            callback()
        assert not default_storage.exists(name)
        assert not Ticket.all_objects.filter(pk=ticket.pk).exists()
        assert not TicketComment.all_objects.filter(ticket_id=ticket.pk).exists()
        record = PurgeRecord.objects.get()
        assert record.model_label == "models_core.Ticket" and record.object_id == str(ticket.pk)
        assert record.organization_id == ticket.organization_id and record.purged_by == org_admin
        assert record.counts == {
            "models_core.Ticket": 1,
            "models_core.TicketComment": 2,
            "models_core.TicketAttachment": 1,
        }
        assert record.total == 4 and record.reason == "GDPR request"
        entry = LogEntry.objects.get(action_flag=DELETION)
        # The log keeps no personal data of the purged row either: no subject, only its label.
        assert entry.object_repr == f"Ticket #{ticket.ticket_number}"

    def test_a_purge_that_would_reach_live_rows_removes_nothing(self, organization, org_admin):
        customer = TicketFactory(organization=organization).customer
        customer.soft_delete()  # their ticket is live: RESTRICT stops the purge
        [outcome] = trash_purge(org_admin, [fresh(customer)])
        assert not outcome.ok and "still refer to it" in outcome.message
        assert User.all_objects.filter(pk=customer.pk).exists()
        assert not PurgeRecord.objects.exists()

    def test_a_row_that_left_the_trash_is_not_purged(self, ticket, org_admin):
        ticket.soft_delete()
        stale = fresh(ticket)
        ticket.restore()
        [outcome] = trash_purge(org_admin, [stale])
        assert not outcome.ok and Ticket.objects.filter(pk=ticket.pk).exists()


class TestRetention:
    def test_purge_expired_dry_run_counts_and_removes_nothing(self, ticket):
        ticket.soft_delete()
        later = timezone.now() + datetime.timedelta(days=31)
        result = trash_purge_expired(later, dry_run=True)
        assert result["due"] == {
            "models_core.Ticket": 1,
            "models_core.TicketComment": 2,
            "models_core.TicketAttachment": 1,
        }
        assert Ticket.all_objects.filter(pk=ticket.pk).exists()
        assert trash_purge_expired(timezone.now())["due"] == {}

    def test_purge_expired_removes_due_batches_and_records_them(self, organization):
        org = build_tenant(tickets=2)
        org.soft_delete()
        kept = KnowledgeBaseArticleFactory(organization=organization)
        kept.soft_delete()
        Organization.all_objects.filter(pk=org.pk).update(auto_delete_at=timezone.now())
        for model in (User, Ticket, TicketComment, TicketAttachment, KnowledgeBaseArticle):
            model.all_objects.filter(deletion_batch=fresh(org).deletion_batch).update(
                auto_delete_at=timezone.now()
            )
        seen = []
        result = trash_purge_expired(progress=lambda done, total: seen.append((done, total)))
        assert not Organization.all_objects.filter(pk=org.pk).exists()
        assert result["purged"]["models_core.Organization"] == 1 and result["skipped"] == 0
        assert fresh(kept).is_deleted  # not due
        record = PurgeRecord.objects.get()
        assert record.trigger == PurgeRecord.Trigger.RETENTION and record.purged_by is None
        assert seen and seen[-1][0] == seen[-1][1]

    def test_the_command_dry_run(self, ticket, capsys):
        ticket.soft_delete()
        Ticket.all_objects.filter(pk=ticket.pk).update(auto_delete_at=timezone.now())
        call_command("purge_expired", "--dry-run", "--no-progress")
        out = capsys.readouterr().out
        assert "due  models_core.Ticket: 1" in out and "nothing was removed" in out
        assert Ticket.all_objects.filter(pk=ticket.pk).exists()
        call_command("purge_expired", "--no-progress")
        assert not Ticket.all_objects.filter(pk=ticket.pk).exists()

    def test_retention_update_feeds_the_next_delete(self, organization, org_admin):
        retention_policy_update(org_admin, organization, {"default": 60, "ticket": 5, "user": None})
        assert fresh(organization).settings["retention_days"] == {"default": 60, "ticket": 5}
        ticket = TicketFactory(organization=organization)
        ticket.soft_delete()
        ticket = fresh(ticket)
        assert round((ticket.auto_delete_at - ticket.deleted_at) / datetime.timedelta(days=1)) == 5
        assert LogEntry.objects.filter(object_id=str(organization.pk), action_flag=CHANGE).exists()
        retention_policy_update(org_admin, organization, {"default": None})
        assert "retention_days" not in fresh(organization).settings
