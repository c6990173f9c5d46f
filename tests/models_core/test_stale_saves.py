"""Soft-delete columns change only through soft delete, restore and purge; a stale save never revives a row.

Peer: django-safedelete's `test_soft_delete.py` (save after delete keeps the row deleted; `undelete` is the
only way back) and `test_update_bypass.py`; here the save is also refused loudly instead of writing quietly.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from models_core.models import Ticket, TicketComment, User
from models_core.trashing import RowInTrashError
from tests.concurrency import run_blocked_behind
from tests.factories import TicketCommentFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_stale_instance_save_does_not_revive_a_trashed_ticket():
    """Session A loads a ticket, session B moves it to the trash, A saves: refused, the row stays trashed."""
    ticket = TicketFactory()
    comment = TicketCommentFactory(ticket=ticket)
    stale = Ticket.objects.get(pk=ticket.pk)
    ticket.soft_delete(reason="spam")
    stale.subject = "edited meanwhile"
    with pytest.raises(RowInTrashError) as caught:
        stale.save()
    assert isinstance(caught.value, ValidationError)
    assert "moved to the trash" in caught.value.messages[0]
    row = Ticket.all_objects.get(pk=ticket.pk)
    assert row.deleted_at is not None and row.deletion_batch == ticket.deletion_batch
    assert row.subject != "edited meanwhile"
    assert TicketComment.all_objects.get(pk=comment.pk).deleted_at is not None
    # The restore the stale save used to break still works.
    row.restore()
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert TicketComment.objects.filter(pk=comment.pk).exists()


def test_stale_save_with_update_fields_is_refused_too():
    ticket = TicketFactory()
    stale = Ticket.objects.get(pk=ticket.pk)
    ticket.soft_delete()
    stale.subject = "x"
    with pytest.raises(RowInTrashError):
        stale.save(update_fields=["subject"])
    assert Ticket.all_objects.get(pk=ticket.pk).is_deleted


def test_stale_save_after_a_purge_does_not_insert_the_row_again():
    ticket = TicketFactory()
    stale = Ticket.objects.get(pk=ticket.pk)
    Ticket.all_objects.filter(pk=ticket.pk).hard_delete()
    with pytest.raises(RowInTrashError):
        stale.save()
    assert not Ticket.all_objects.filter(pk=ticket.pk).exists()


def test_ordinary_save_never_writes_the_soft_delete_columns():
    """A live instance whose trash fields were tampered with saves its other fields only."""
    ticket = TicketFactory()
    ticket.subject = "new subject"
    ticket.deleted_at = None  # as loaded
    ticket.delete_reason = "forged"
    ticket.auto_delete_at = ticket.created_at
    with CaptureQueriesContext(connection) as queries:
        ticket.save()
    update = next(q["sql"] for q in queries if q["sql"].startswith("UPDATE"))
    for column in ("deleted_at", "deletion_batch", "deleted_by_id", "delete_reason", "auto_delete_at"):
        assert f'"{column}" =' not in update
    assert '"deleted_at" IS NULL' in update  # the guard is in the UPDATE's WHERE clause: race-safe
    row = Ticket.objects.get(pk=ticket.pk)
    assert row.subject == "new subject" and row.delete_reason == "" and row.auto_delete_at is None


def test_saving_a_trashed_instance_leaves_it_in_the_trash():
    """Editing a trashed row directly (a script) writes its data but never its trash state nor is_active."""
    user = UserFactory()
    user.soft_delete(reason="left")
    trashed = User.all_objects.get(pk=user.pk)
    trashed.first_name = "Renamed"
    trashed.is_active = True
    trashed.delete_reason = "forged"
    trashed.save()
    row = User.all_objects.get(pk=user.pk)
    assert row.first_name == "Renamed"
    assert row.deleted_at is not None and row.is_active is False and row.delete_reason == "left"
    # Claiming to be live does not make it so: the guard refuses the save.
    trashed.deleted_at = None
    with pytest.raises(RowInTrashError):
        trashed.save()
    assert User.all_objects.get(pk=user.pk).is_deleted


def test_a_caught_refusal_leaves_the_transaction_usable():
    ticket = TicketFactory()
    stale = Ticket.objects.get(pk=ticket.pk)
    ticket.soft_delete()
    with transaction.atomic():
        with pytest.raises(RowInTrashError):
            stale.save()
        assert Ticket.all_objects.filter(pk=ticket.pk, deleted_at__isnull=False).exists()


def test_update_fields_naming_a_soft_delete_column_is_an_error():
    ticket = TicketFactory()
    with pytest.raises(ValueError, match="soft_delete"):
        ticket.save(update_fields=["deleted_at"])


def test_live_save_costs_one_query():
    ticket = TicketFactory()
    ticket.subject = "again"
    with CaptureQueriesContext(connection) as queries:
        ticket.save()
    assert len(queries) == 1


def test_suspending_a_live_user_still_writes_is_active():
    user = UserFactory()
    user.is_active = False
    user.save()
    assert User.objects.get(pk=user.pk).is_active is False


@pytest.mark.django_db(transaction=True)
def test_a_save_racing_a_soft_delete_waits_for_it_and_is_refused():
    """The guard is the UPDATE's WHERE clause: a save that runs into an uncommitted soft delete waits for its
    row lock, re-reads the row and matches nothing, so it never writes the trashed row live again."""
    ticket = TicketFactory()
    stale = Ticket.objects.get(pk=ticket.pk)
    stale.subject = "racing edit"
    with pytest.raises(RowInTrashError):
        run_blocked_behind(lambda: ticket.soft_delete(reason="race"), stale.save)
    row = Ticket.all_objects.get(pk=ticket.pk)
    assert row.is_deleted and row.subject != "racing edit"
