"""Cascade groups: one batch per soft delete, exact-batch restore, refusals, set-based statement counts."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from psycopg.types.range import DateRange

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
from models_core.restore import batch_restore, batch_summary, restore_conflicts
from models_core.trashing import soft_delete_models
from tests.conditions import TIMEOUT_SECONDS, backend_pid, wait_until, wait_until_waiting_on_lock
from tests.factories import (
    KnowledgeBaseArticleFactory,
    OrganizationFactory,
    SLAPolicyFactory,
    TicketCommentFactory,
    TicketFactory,
    UserFactory,
    UserPermissionFactory,
    UserSessionFactory,
    build_tenant,
)


@pytest.mark.django_db
class TestCascade:
    def test_organization_delete_takes_everything_of_the_tenant_in_one_batch(self):
        org = build_tenant(tickets=2, comments_per_ticket=2)
        result = org.soft_delete(reason="customer left")
        assert result.counts == {
            "models_core.Organization": 1,
            "models_core.User": 2,
            "models_core.Ticket": 2,
            "models_core.TicketComment": 4,
            "models_core.TicketAttachment": 4,
            "models_core.KnowledgeBaseArticle": 1,
            "models_core.SLAPolicy": 1,
        }
        assert result.deactivated == {"models_core.UserSession": 1}
        assert batch_summary(result.batch_id) == result.counts
        for model in soft_delete_models():
            rows = model.all_objects.all()
            assert {r.deletion_batch for r in rows} == {result.batch_id}, model
            assert {r.auto_delete_at for r in rows} == {org.auto_delete_at}, model
            assert not any(r.is_active for r in rows), model
        # Permissions are kept for a restore; purge removes them with the user.
        assert UserPermission.objects.count() == 1

    def test_a_user_delete_takes_sessions_but_not_tickets(self):
        ticket = TicketFactory()
        customer = ticket.customer
        session = UserSessionFactory(user=customer)
        UserPermissionFactory(user=customer)
        result = customer.soft_delete()
        assert result.counts == {"models_core.User": 1}
        assert result.deactivated == {"models_core.UserSession": 1}
        assert Ticket.objects.filter(pk=ticket.pk).exists()  # tickets belong to the organization
        assert Ticket.objects.get(pk=ticket.pk).customer.is_deleted
        customer.restore()
        session.refresh_from_db()
        assert session.is_active is False  # a restored user signs in again
        assert customer.custom_permissions.count() == 1

    def test_rows_already_in_the_trash_keep_their_batch_and_stay_there(self):
        ticket = TicketFactory()
        earlier = TicketCommentFactory(ticket=ticket)
        later = TicketCommentFactory(ticket=ticket)
        first = earlier.soft_delete()
        second = ticket.soft_delete()
        assert second.counts["models_core.TicketComment"] == 1
        earlier.refresh_from_db()
        assert earlier.deletion_batch == first.batch_id
        ticket.restore()
        assert list(ticket.comments.all()) == [later]
        assert TicketComment.all_objects.get(pk=earlier.pk).is_deleted

    def test_a_child_cannot_be_restored_while_its_parent_is_in_the_trash(self):
        comment = TicketCommentFactory()
        comment.ticket.soft_delete()
        comment.refresh_from_db()
        with pytest.raises(ValidationError) as excinfo:
            comment.restore()
        assert excinfo.value.messages == [
            f"Restore ticket #{comment.ticket.ticket_number} first: it is in the trash."
        ]

    def test_a_separately_deleted_child_can_be_restored_once_its_parent_is_back(self):
        comment = TicketCommentFactory()
        comment.soft_delete()
        comment.ticket.soft_delete()
        with pytest.raises(ValidationError, match="first: it is in the trash"):
            comment.restore()
        comment.ticket.restore()
        comment.restore()
        assert TicketComment.objects.filter(pk=comment.pk).exists()

    def test_restoring_a_nested_row_restores_its_subtree_only(self):
        """A queryset delete roots several tickets in one batch; restoring one brings back its own comments
        and attachments, not the other tickets."""
        org = build_tenant(tickets=2)
        result = Ticket.objects.filter(organization=org).soft_delete()
        one, other = Ticket.all_objects.filter(organization=org).order_by("pk")
        restored = one.restore()
        assert restored.counts == {
            "models_core.Ticket": 1,
            "models_core.TicketComment": 1,
            "models_core.TicketAttachment": 2,
        }
        assert other.pk in Ticket.all_objects.deleted().values_list("pk", flat=True)
        assert batch_summary(result.batch_id) == {
            "models_core.Ticket": 1,
            "models_core.TicketComment": 1,
            "models_core.TicketAttachment": 2,
        }

    def test_batch_restore_brings_back_exactly_the_batch(self):
        org = build_tenant(tickets=2)
        lone = TicketCommentFactory(ticket=Ticket.objects.filter(organization=org).first())
        lone.soft_delete()
        result = org.soft_delete()
        restored = batch_restore(result.batch_id)
        assert restored.counts == {label: count for label, count in result.counts.items()} | {
            label: 0 for label in restored.counts if label not in result.counts
        }
        assert TicketComment.all_objects.get(pk=lone.pk).is_deleted
        assert Organization.objects.filter(pk=org.pk).exists()
        assert batch_summary(result.batch_id) == {}
        with pytest.raises(ValidationError, match="Nothing of batch"):
            batch_restore(result.batch_id)

    def test_batch_restore_refuses_rows_whose_parent_left_in_another_batch(self):
        ticket = TicketFactory()
        comment = TicketCommentFactory(ticket=ticket)
        comment_batch = comment.soft_delete().batch_id
        ticket.soft_delete()
        with pytest.raises(ValidationError, match=f"Restore ticket #{ticket.ticket_number} first"):
            batch_restore(comment_batch)

    @pytest.mark.parametrize(
        ("make", "clash", "message"),
        [
            (
                lambda: OrganizationFactory(slug="acme"),
                lambda old: OrganizationFactory(slug="acme"),
                "An organization with this slug already exists.",
            ),
            (
                lambda: UserFactory(email="Ann@Example.com"),
                lambda old: UserFactory(email="ann@example.com", organization=old.organization),
                "A user with this email address already exists.",
            ),
            (
                lambda: KnowledgeBaseArticleFactory(slug="faq"),
                lambda old: KnowledgeBaseArticleFactory(slug="faq", organization=old.organization),
                "This organization already has an article with this slug.",
            ),
        ],
        ids=["organization-slug", "user-email", "article-slug"],
    )
    def test_restore_is_refused_when_a_live_row_took_the_unique_value(self, make, clash, message):
        old = make()
        old.soft_delete()
        clash(old)
        with pytest.raises(ValidationError) as excinfo:
            old.restore()
        (text,) = excinfo.value.messages
        assert text.startswith(f"Cannot restore {old._meta.verbose_name} {old.trash_label}")
        assert text.endswith(message)
        assert type(old).all_objects.get(pk=old.pk).is_deleted

    def test_restore_is_refused_when_a_live_policy_now_overlaps(self):
        old = SLAPolicyFactory(validity=DateRange(datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)))
        old.soft_delete()
        SLAPolicyFactory(organization=old.organization, priority=old.priority, validity=old.validity)
        with pytest.raises(ValidationError, match="Another active policy for this priority"):
            old.restore()
        assert SLAPolicy.all_objects.get(pk=old.pk).is_deleted

    def test_a_disabled_policy_comes_back_disabled(self):
        policy = SLAPolicyFactory(is_active=False)
        policy.soft_delete()
        policy.restore()
        assert SLAPolicy.objects.get(pk=policy.pk).is_active is False

    def test_restore_conflicts_lists_every_problem_without_restoring(self):
        comment = TicketCommentFactory()
        comment.soft_delete()
        comment.ticket.soft_delete()
        from models_core.restore import restore_plan_for_root

        assert restore_conflicts(restore_plan_for_root(comment)) == [
            f"Restore ticket #{comment.ticket.ticket_number} first: it is in the trash."
        ]


@pytest.mark.django_db
class TestSetBased:
    """The statement count of a delete or restore depends on the models involved, never on the row count."""

    @staticmethod
    def count_statements(action) -> int:
        with CaptureQueriesContext(connection) as ctx:
            action()
        return len(ctx.captured_queries)

    def test_organization_soft_delete_and_restore(self, django_assert_max_num_queries):
        small, big = (
            build_tenant(tickets=1, comments_per_ticket=1),
            build_tenant(tickets=6, comments_per_ticket=4),
        )
        small_delete = self.count_statements(small.soft_delete)
        big_delete = self.count_statements(big.soft_delete)
        assert small_delete == big_delete
        small_restore = self.count_statements(lambda: batch_restore(small.deletion_batch))
        big_restore = self.count_statements(lambda: batch_restore(big.deletion_batch))
        assert small_restore == big_restore
        assert Ticket.objects.filter(organization=big).count() == 6
        # BEGIN/SAVEPOINT/RELEASE/COMMIT + one UPDATE per cascade relation + refresh of the instance.
        big.refresh_from_db()
        with django_assert_max_num_queries(14):
            big.soft_delete()

    def test_queryset_delete_of_many_tickets(self):
        small, big = build_tenant(tickets=1), build_tenant(tickets=8)
        assert self.count_statements(lambda: Ticket.objects.filter(organization=small).delete()) == (
            self.count_statements(lambda: Ticket.objects.filter(organization=big).delete())
        )

    def test_cascade_updates_select_children_by_batch(self):
        org = build_tenant(tickets=2)
        with CaptureQueriesContext(connection) as ctx:
            org.soft_delete()
        updates = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]
        comment_update = next(sql for sql in updates if 'UPDATE "models_core_ticketcomment"' in sql)
        assert "IN (SELECT" in comment_update and '"deletion_batch" =' in comment_update
        # organization, users, sessions, tickets, comments, attachments x2, articles, policies
        assert len(updates) == 9


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_restores_of_one_batch_restore_it_once():
    org = build_tenant(tickets=3)
    batch = org.soft_delete().batch_id
    expected = batch_summary(batch)
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def restore(name: str) -> None:
        try:
            barrier.wait(timeout=TIMEOUT_SECONDS)
            outcomes[name] = batch_restore(batch)
        except ValidationError as error:
            outcomes[name] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=restore, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT_SECONDS)
    results = [o for o in outcomes.values() if not isinstance(o, ValidationError)]
    errors = [o for o in outcomes.values() if isinstance(o, ValidationError)]
    assert len(results) == 1 and len(errors) == 1, outcomes
    assert "Nothing of batch" in errors[0].messages[0]
    assert {k: v for k, v in results[0].counts.items() if v} == expected
    assert Ticket.objects.filter(organization=org).count() == 3
    assert User.objects.filter(organization=org).count() == 2
    assert TicketAttachment.objects.count() == 6 and KnowledgeBaseArticle.objects.count() == 1
    assert UserSession.objects.filter(is_active=False).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_restore_waiting_on_another_sees_it_committed():
    """The second restore blocks on the batch lock while the first transaction is open, then finds nothing."""
    from django.db import transaction

    ticket = TicketFactory()
    batch = ticket.soft_delete().batch_id
    first_holds_lock = threading.Event()
    second_pid: list[int] = []
    outcome: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                outcome["first"] = batch_restore(batch)
                first_holds_lock.set()
                # Commit only once the second restore is queued behind our lock (not after some time).
                wait_until(lambda: second_pid, what="the second restore to connect")
                wait_until_waiting_on_lock(second_pid[0])
        finally:
            connection.close()

    def second() -> None:
        try:
            second_pid.append(backend_pid())
            assert first_holds_lock.wait(timeout=TIMEOUT_SECONDS)
            outcome["second"] = batch_restore(batch)
        except ValidationError as error:
            outcome["second"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT_SECONDS)
    assert outcome["first"].counts["models_core.Ticket"] == 1
    assert isinstance(outcome["second"], ValidationError)
    assert Ticket.objects.filter(pk=ticket.pk).exists()


@pytest.mark.django_db
def test_restore_conflict_list_names_kind_row_and_parent_batch():
    from models_core.restore import restore_conflict_list, restore_plan_for_root

    comment = TicketCommentFactory()
    comment.soft_delete()
    comment.ticket.soft_delete()
    comment.refresh_from_db()
    ticket = type(comment.ticket).all_objects.get(pk=comment.ticket_id)
    [conflict] = restore_conflict_list(restore_plan_for_root(comment))
    assert (conflict.kind, conflict.model, conflict.pk) == ("parent_in_trash", type(comment), comment.pk)
    assert (conflict.parent_model, conflict.parent_pk, conflict.parent_batch) == (
        type(ticket),
        ticket.pk,
        ticket.deletion_batch,
    )
