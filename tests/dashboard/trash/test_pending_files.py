"""Files do not outlive their rows: recorded in the purge's transaction, removed after commit, swept when that
failed or the process died, shown on the purge records page, never claimed removed when they were not."""

import datetime

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage, default_storage
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dashboard.trash import services
from dashboard.trash.retention import trash_purge_expired
from dashboard.trash.tasks import trash_sweep_files
from models_core.models import PendingFileRemoval, Ticket, TicketAttachment
from models_core.purge import pending_files_sweep
from tests.factories import TicketAttachmentFactory, TicketFactory

pytestmark = pytest.mark.django_db


def fresh(obj):
    return type(obj).all_objects.get(pk=obj.pk)


def trash(organization, files: int = 2):
    ticket = TicketFactory(organization=organization)
    TicketAttachmentFactory.create_batch(files, ticket=ticket)
    names = list(TicketAttachment.all_objects.filter(ticket=ticket).values_list("file", flat=True))
    assert len(names) == files and all(default_storage.exists(n) for n in names)
    ticket.soft_delete()
    return fresh(ticket), names


@pytest.fixture
def trashed_ticket(organization):
    return trash(organization)


def refuse_deletes(monkeypatch):
    """The storage refuses every delete, as an undeletable folder does."""

    def refuse(storage, name):
        raise PermissionError(13, "Permission denied", f"/srv/media/{name}")

    # On the class: the tests' storage is a fresh instance per test (tests/conftest.py).
    monkeypatch.setattr(InMemoryStorage, "delete", refuse)


def age(minutes: int = 60) -> None:
    """Make every pending file old enough for the sweeper (it leaves young ones to their own purge)."""
    then = timezone.now() - datetime.timedelta(minutes=minutes)
    PendingFileRemoval.objects.update(created_at=then, last_attempt_at=None)


def test_files_are_recorded_in_the_purge_transaction_and_removed_after_commit(
    trashed_ticket, org_admin, django_capture_on_commit_callbacks
):
    ticket, names = trashed_ticket
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        [outcome] = services.trash_purge(org_admin, [ticket], "gdpr")
    # Committed, not removed yet (a kill here used to forget them): each file is on record.
    assert outcome.ok
    assert not Ticket.all_objects.filter(pk=ticket.pk).exists()
    pending = PendingFileRemoval.objects.all()
    assert sorted(pending.values_list("name", flat=True)) == sorted(names)
    assert set(pending.values_list("organization_id", flat=True)) == {ticket.organization_id}
    assert all(default_storage.exists(n) for n in names)
    for callback in callbacks:
        callback()
    assert not any(default_storage.exists(n) for n in names)
    assert not PendingFileRemoval.objects.exists()


def test_a_purge_that_rolls_back_records_and_removes_nothing(
    trashed_ticket, org_admin, django_capture_on_commit_callbacks
):
    ticket, names = trashed_ticket
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.trash_batch_purge([ticket], user=org_admin, trigger="manual", reason="")
        assert PendingFileRemoval.objects.count() == 2
        raise RuntimeError("the caller's transaction fails after the purge")
    assert not callbacks
    assert Ticket.all_objects.filter(pk=ticket.pk).exists()
    assert not PendingFileRemoval.objects.exists()
    assert all(default_storage.exists(n) for n in names)


def test_a_purge_killed_before_removing_is_finished_by_the_sweeper(
    trashed_ticket, org_admin, django_capture_on_commit_callbacks
):
    ticket, names = trashed_ticket
    with django_capture_on_commit_callbacks(execute=False):
        services.trash_purge(org_admin, [ticket], "gdpr")  # the process dies before its on-commit removal
    assert PendingFileRemoval.objects.count() == 2
    # Too young: its own purge may still be removing them.
    assert pending_files_sweep().removed == 0
    assert all(default_storage.exists(n) for n in names)
    age()
    assert trash_sweep_files(timestamp=0) == {"removed": 2, "failed": 0}
    assert not any(default_storage.exists(n) for n in names)
    assert not PendingFileRemoval.objects.exists()


def test_the_sweeper_leaves_a_name_a_live_row_uses_again(
    trashed_ticket, org_admin, organization, django_capture_on_commit_callbacks
):
    ticket, names = trashed_ticket
    with django_capture_on_commit_callbacks(execute=False):
        services.trash_purge(org_admin, [ticket], "gdpr")
    # Someone removed the first file by hand meanwhile, and a new upload took its name.
    default_storage.delete(names[0])
    default_storage.save(names[0], ContentFile(b"a new customer's file"))
    TicketAttachmentFactory(ticket=TicketFactory(organization=organization), file=names[0])
    age()
    assert pending_files_sweep().removed == 1
    assert default_storage.exists(names[0]) and not default_storage.exists(names[1])
    assert not PendingFileRemoval.objects.exists()


@pytest.mark.django_db(transaction=True)  # the purge commits for real: its on-commit removal runs at once
def test_files_that_cannot_be_removed_are_kept_logged_shown_and_not_claimed(
    trashed_ticket, org_admin, monkeypatch, client, caplog, other_organization, make_staff
):
    ticket, names = trashed_ticket
    refuse_deletes(monkeypatch)
    [outcome] = services.trash_purge(org_admin, [ticket], "gdpr")
    assert not Ticket.all_objects.filter(pk=ticket.pk).exists()  # the rows are gone (committed)
    assert outcome.ok
    assert "2 of its files could not be removed from the storage yet" in outcome.message
    assert "Could not remove purged file" in caplog.text
    rows = PendingFileRemoval.objects.all()
    assert rows.count() == 2
    assert all(r.attempts == 1 and r.last_error == "PermissionError: Permission denied" for r in rows)

    client.force_login(org_admin)
    page = client.get(reverse("dashboard:trash:purge_records")).content.decode()
    assert 'data-testid="pending-files"' in page and names[0] in page and "Permission denied" in page
    assert "2 files of purged records not removed" in page
    assert "/srv/media" not in page  # the server's directories are nobody's business
    # Another organization's staff does not see them.
    client.force_login(make_staff("Admins", organization=other_organization))
    assert (
        'data-testid="pending-files"'
        not in client.get(reverse("dashboard:trash:purge_records")).content.decode()
    )

    # A sweep while the storage still refuses: one attempt more each, nothing lost.
    age()
    assert pending_files_sweep().failed == 2
    assert set(PendingFileRemoval.objects.values_list("attempts", flat=True)) == {2}

    # Fixed: the hourly sweep removes them, and the page says nothing any more.
    monkeypatch.undo()
    age()
    assert pending_files_sweep().removed == 2
    assert not any(default_storage.exists(n) for n in names)
    client.force_login(org_admin)
    assert (
        'data-testid="pending-files"'
        not in client.get(reverse("dashboard:trash:purge_records")).content.decode()
    )


@pytest.mark.django_db(transaction=True)
def test_the_retention_purge_says_how_many_files_stayed(organization, monkeypatch, capsys):
    ticket, names = trash(organization, files=3)
    Ticket.all_objects.filter(pk=ticket.pk).update(auto_delete_at=timezone.now() - datetime.timedelta(days=1))
    refuse_deletes(monkeypatch)
    result = trash_purge_expired()
    assert result["purged"]["models_core.Ticket"] == 1
    assert (result["files_removed"], result["files_not_removed"]) == (0, 3)
    assert all(default_storage.exists(n) for n in names)
    assert PendingFileRemoval.objects.filter(organization_id=organization.pk).count() == 3

    ticket, _names = trash(organization, files=1)
    Ticket.all_objects.filter(pk=ticket.pk).update(auto_delete_at=timezone.now() - datetime.timedelta(days=1))
    call_command("purge_expired", "--no-progress")
    out = capsys.readouterr().out
    assert "1 files could not be removed from the storage yet" in out
