"""Visibility, the soft-delete API on instances and querysets, and the User specifics."""

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404

from models_core.models import Organization, Ticket, TicketComment, User
from tests.factories import (
    DEFAULT_PASSWORD,
    OrganizationFactory,
    TicketCommentFactory,
    TicketFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def tickets():
    org = OrganizationFactory()
    live = TicketFactory(organization=org)
    trashed = TicketFactory(organization=org, customer=live.customer)
    trashed.soft_delete()
    return live, trashed


def test_objects_hides_the_trash_and_all_objects_shows_it(tickets):
    live, trashed = tickets
    assert list(Ticket.objects.all()) == [live]
    assert set(Ticket.all_objects.all()) == {live, trashed}


@pytest.mark.parametrize("manager", ["objects", "all_objects"])
def test_both_managers_offer_active_deleted_and_with_deleted(tickets, manager):
    live, trashed = tickets
    qs = getattr(Ticket, manager)
    assert list(qs.active()) == [live]
    assert list(qs.deleted()) == [trashed]
    assert set(qs.with_deleted()) == {live, trashed}


def test_with_deleted_composes_with_earlier_and_later_filters(tickets):
    live, trashed = tickets
    other = TicketFactory()
    other.soft_delete()
    org = live.organization
    assert set(Ticket.objects.filter(organization=org).with_deleted()) == {live, trashed}
    assert set(Ticket.objects.with_deleted().filter(organization=org)) == {live, trashed}
    assert list(Ticket.objects.filter(organization=org).deleted()) == [trashed]
    assert list(Ticket.objects.filter(organization=org).with_deleted().active()) == [live]
    # A user's own OR-filter is kept as written.
    assert set(Ticket.all_objects.filter(organization=org).with_deleted()) == {live, trashed}


def test_related_managers_and_get_object_or_404_hide_the_trash():
    ticket = TicketFactory()
    kept = TicketCommentFactory(ticket=ticket)
    gone = TicketCommentFactory(ticket=ticket)
    gone.soft_delete()
    assert list(ticket.comments.all()) == [kept]
    assert set(ticket.comments.with_deleted()) == {kept, gone}
    assert list(ticket.organization.tickets.all()) == [ticket]
    ticket.soft_delete()
    assert list(ticket.organization.tickets.all()) == []
    with pytest.raises(Http404):
        get_object_or_404(Ticket, pk=ticket.pk)
    assert get_object_or_404(Ticket.all_objects, pk=ticket.pk) == ticket


def test_forward_access_reaches_a_trashed_parent():
    """The trash view shows a trashed comment with its trashed ticket: forward FKs use the base manager."""
    comment = TicketCommentFactory()
    comment.ticket.soft_delete()
    comment = TicketComment.all_objects.get(pk=comment.pk)
    assert comment.ticket.is_deleted
    assert TicketComment.all_objects.select_related("ticket").get(pk=comment.pk).ticket.is_deleted


def test_soft_delete_fills_the_fields_and_restore_clears_them():
    deleter = UserFactory()
    ticket = TicketFactory()
    ticket.soft_delete(user=deleter, reason="spam", metadata={"source": "test"})
    stored = Ticket.all_objects.get(pk=ticket.pk)
    for row in (ticket, stored):
        assert row.is_deleted and not row.is_active
        assert row.deleted_by == deleter and row.delete_reason == "spam"
        assert row.deletion_batch is not None and row.auto_delete_at > row.deleted_at
        assert row.deletion_metadata["source"] == "test" and row.deletion_metadata["cascaded"] is False
    ticket.restore(user=deleter)
    stored = Ticket.objects.get(pk=ticket.pk)
    for row in (ticket, stored):
        assert row.is_active and row.deleted_at is None and row.deleted_by is None
        assert row.deletion_batch is None and row.auto_delete_at is None and row.delete_reason == ""
        assert row.deletion_metadata["restored_by"] == deleter.pk


def test_deleting_twice_and_restoring_a_live_row_are_refused():
    ticket = TicketFactory()
    with pytest.raises(ValidationError, match="is not in the trash"):
        ticket.restore()
    ticket.soft_delete()
    with pytest.raises(ValidationError, match="already in the trash"):
        ticket.soft_delete()


def test_a_stale_instance_cannot_delete_or_restore_twice():
    ticket = TicketFactory()
    stale = Ticket.objects.get(pk=ticket.pk)
    ticket.soft_delete()
    with pytest.raises(ValidationError, match="already in the trash"):
        stale.soft_delete()
    stale = Ticket.all_objects.get(pk=ticket.pk)
    ticket.restore()
    with pytest.raises(ValidationError, match="not in the trash any more"):
        stale.restore()


def test_queryset_delete_soft_deletes_and_answers_like_django():
    org = OrganizationFactory()
    first = TicketFactory(organization=org)
    TicketFactory(organization=org, customer=first.customer)
    TicketCommentFactory(ticket=first)
    total, counts = Ticket.objects.filter(organization=org).delete()
    # Like Django's, models that lost no row are left out.
    assert counts == {"models_core.Ticket": 2, "models_core.TicketComment": 1}
    assert total == 3
    assert Ticket.all_objects.filter(organization=org).count() == 2
    assert Ticket.objects.filter(organization=org).count() == 0
    # Already in the trash: nothing more to delete.
    assert Ticket.all_objects.filter(organization=org).delete() == (0, {})


def test_instance_delete_is_a_soft_delete_and_hard_delete_is_explicit():
    ticket = TicketFactory()
    comment = TicketCommentFactory(ticket=ticket)
    assert ticket.delete() == (2, {"models_core.Ticket": 1, "models_core.TicketComment": 1})
    assert Ticket.all_objects.filter(pk=ticket.pk).exists()
    ticket.hard_delete()
    assert not Ticket.all_objects.filter(pk=ticket.pk).exists()
    assert not TicketComment.all_objects.filter(pk=comment.pk).exists()


def test_queryset_hard_delete_goes_through_the_collector():
    ticket = TicketFactory()
    TicketCommentFactory(ticket=ticket)
    ticket.soft_delete()
    _, counts = Ticket.all_objects.filter(pk=ticket.pk).hard_delete()
    assert counts["models_core.TicketComment"] == 1 and counts["models_core.Ticket"] == 1


def test_bulk_update_through_objects_never_touches_the_trash(tickets):
    _, trashed = tickets
    assert Ticket.objects.update(subject="changed") == 1
    trashed.refresh_from_db()
    assert trashed.subject != "changed"


def test_saving_a_trashed_row_updates_it_in_place(tickets):
    _, trashed = tickets
    trashed.subject = "edited in the trash"
    trashed.save()
    assert Ticket.all_objects.filter(subject="edited in the trash").count() == 1


def test_can_be_restored_false_is_a_veto():
    ticket = TicketFactory()
    ticket.soft_delete()
    Ticket.all_objects.filter(pk=ticket.pk).update(can_be_restored=False)
    ticket.refresh_from_db()
    with pytest.raises(ValidationError, match="marked as not restorable"):
        ticket.restore()


# Users: is_active is Django's "may log in", the trash is deleted_at.


def test_a_suspended_user_is_live_and_a_trashed_user_is_not():
    suspended = UserFactory(is_active=False)
    trashed = UserFactory()
    trashed.soft_delete()
    assert suspended in User.objects.all()
    assert not suspended.is_deleted
    assert trashed not in User.objects.all()
    assert list(User.objects.deleted()) == [trashed]
    assert list(User.all_objects.filter(is_active=False).active()) == [suspended]


def test_a_trashed_user_cannot_log_in_and_a_restored_one_can(rf):
    user = UserFactory()

    def sign_in():  # django-axes (the first backend) needs the request, as the login view passes it
        return authenticate(rf.post("/login/"), username=user.username, password=DEFAULT_PASSWORD)

    assert sign_in() == user
    user.soft_delete()
    assert sign_in() is None
    user.restore()
    assert sign_in() == user


def test_restoring_a_suspended_user_keeps_them_suspended():
    user = UserFactory(is_active=False)
    user.soft_delete()
    user.restore()
    assert User.objects.get(pk=user.pk).is_active is False


def test_user_manager_is_still_a_user_manager():
    admin = User.objects.create_superuser("root", "root@example.com", "pw", role=User.Role.ADMIN)
    assert admin.is_superuser and admin.check_password("pw")
    assert User.objects.get_by_natural_key("root") == admin
    admin.soft_delete()
    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_natural_key("root")
    assert User.all_objects.get_by_natural_key("root") == admin


def test_full_clean_sees_values_held_by_trashed_rows():
    """Django validates uniqueness through the default manager, which hides the trash; ours looks at every row
    for total constraints (usernames, ticket numbers) and lets partial ones apply their own condition."""
    user = UserFactory(username="taken")
    user.soft_delete()
    with pytest.raises(ValidationError) as excinfo:
        UserFactory.build(username="taken", organization=user.organization).full_clean()
    assert "username" in excinfo.value.message_dict
    org = OrganizationFactory(slug="acme")
    org.soft_delete()
    OrganizationFactory.build(slug="acme").full_clean()  # a slug may be taken over


def test_platform_staff_have_no_organization():
    staff = UserFactory(organization=None, role=User.Role.ADMIN)
    staff.soft_delete()
    staff.restore()
    assert User.objects.get(pk=staff.pk).organization is None
    assert Organization.objects.count() == 0
