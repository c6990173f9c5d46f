"""seed_demo: every model, trash batches, rows due for purge, legacy rows, determinism, safe re-runs."""

import datetime
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone

from models_core.demo import DEMO_MARKER, LEGACY_MARKER, demo_organizations
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
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

SMALL = ("--orgs", "2", "--tickets", "120", "--no-progress")


def seed(*args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("seed_demo", *SMALL, *args, stdout=out, stderr=err)
    assert out.getvalue() == ""
    return err.getvalue()


@pytest.fixture
def seeded():
    return seed()


def test_creates_rows_of_every_model(seeded):
    assert "Seeded 3 organizations" in seeded
    for model in (
        Organization,
        User,
        Ticket,
        TicketComment,
        TicketAttachment,
        KnowledgeBaseArticle,
        SLAPolicy,
        UserSession,
        UserPermission,
    ):
        assert model._default_manager.exists(), model
    assert Ticket.all_objects.count() == 120
    assert set(User.objects.values_list("role", flat=True)) == set(User.Role.values)
    assert set(TicketComment.objects.values_list("comment_type", flat=True)) == set(
        TicketComment.CommentType.values
    )
    assert set(Ticket.objects.values_list("status", flat=True)) == set(Ticket.Status.values)


def test_ticket_numbers_follow_each_organizations_counter(seeded):
    for organization in Organization.all_objects.all():
        numbers = sorted(
            Ticket.all_objects.filter(organization=organization).values_list("ticket_number", flat=True)
        )
        assert numbers == list(range(1, len(numbers) + 1))
        assert organization.last_ticket_number == len(numbers)
    organization = Organization.objects.first()
    customer = User.objects.filter(organization=organization, role=User.Role.CUSTOMER).first()
    counter = organization.last_ticket_number
    ticket = Ticket.objects.create(organization=organization, customer=customer, subject="After the seed")
    assert ticket.ticket_number == counter + 1


def test_service_level_fields_are_coherent(seeded):
    tickets = Ticket.all_objects.exclude(custom_fields__has_key="legacy_invalid")
    assert not tickets.filter(resolved_at__lt=F("created_at")).exists()
    assert not tickets.filter(first_responded_at__lt=F("created_at")).exists()
    assert not tickets.filter(status__in=["resolved", "closed"], resolved_at__isnull=True).exists()
    assert not tickets.filter(status__in=["new", "open", "pending"], resolved_at__isnull=False).exists()
    assert not tickets.filter(status="new", first_responded_at__isnull=False).exists()
    overdue = Q(resolved_at__isnull=True, resolution_due__lt=timezone.now()) & ~Q(status="cancelled")
    assert not tickets.filter(overdue, sla_breach=False).exists()
    assert not tickets.filter(resolved_at__gt=F("resolution_due"), sla_breach=False).exists()


def test_attachment_files_exist(seeded):
    attachment = TicketAttachment.objects.first()
    assert default_storage.exists(attachment.file.name)
    assert attachment.file.size == attachment.size


def test_trash_holds_batches_from_the_public_api(seeded):
    trashed = Ticket.all_objects.deleted()
    assert trashed.count() >= 3
    assert not trashed.filter(Q(deletion_batch__isnull=True) | Q(delete_reason="")).exists()
    # Single deletes each have their own batch.
    assert trashed.values("deletion_batch").distinct().count() > 2
    # A ticket taken with its conversation: comments share its batch.
    gdpr = trashed.filter(
        delete_reason__startswith="Customer asked us to erase", organization__is_active=True
    )[0]
    comments = TicketComment.all_objects.filter(ticket=gdpr)
    assert comments.exists()
    assert set(comments.values_list("deletion_batch", flat=True)) == {gdpr.deletion_batch}
    # A whole organization, with everything of it in one batch.
    defunct = Organization.all_objects.deleted().get()
    assert defunct.settings[DEMO_MARKER]["role"] == "defunct"
    assert (
        User.all_objects.filter(organization=defunct).exclude(deletion_batch=defunct.deletion_batch).count()
        == 0
    )
    assert Ticket.all_objects.filter(organization=defunct, deleted_at__isnull=True).count() == 0
    # A customer account: in the trash, its sessions switched off.
    customer = (
        User.all_objects.deleted().filter(role=User.Role.CUSTOMER, organization__is_active=True).first()
    )
    assert customer.delete_reason
    assert not UserSession.objects.filter(user=customer, is_active=True).exists()
    assert KnowledgeBaseArticle.all_objects.deleted().exists()
    assert SLAPolicy.all_objects.deleted().exists()


def test_some_rows_are_due_for_purge_within_days(seeded):
    now = timezone.now()
    soon = Ticket.all_objects.deleted().filter(auto_delete_at__lte=now + datetime.timedelta(days=3))
    assert soon.count() >= 3
    assert TicketComment.all_objects.deleted().filter(auto_delete_at__lte=now).exists()
    # Other batches keep their retention deadline (30 days or the organization's override).
    assert Ticket.all_objects.deleted().filter(auto_delete_at__gt=now + datetime.timedelta(days=5)).exists()


def test_legacy_rows_that_break_rules_but_not_constraints(seeded):
    legacy = Ticket.objects.filter(custom_fields__has_key="legacy_invalid")
    assert legacy.filter(subject="").exists()
    assert legacy.filter(tags__contains=[LEGACY_MARKER]).count() == legacy.count()
    assert legacy.filter(
        status="open", resolution_due__lt=timezone.now(), sla_breach=False, resolved_at__isnull=True
    ).exists()
    malformed = User.objects.filter(username__contains=LEGACY_MARKER).exclude(
        email__regex=r"^[^@\s]+@[^@\s]+$"
    )
    assert malformed.count() >= 2
    overloaded = (
        User.objects.filter(username__contains=LEGACY_MARKER, role=User.Role.AGENT)
        .annotate(open_tickets=Count("assigned_tickets", filter=Q(assigned_tickets__status="open")))
        .filter(open_tickets__gt=F("max_concurrent_tickets"))
    )
    assert overloaded.exists()
    assert KnowledgeBaseArticle.objects.filter(slug__startswith=LEGACY_MARKER, content="").exists()
    organization = Organization.objects.filter(settings__demo_seed__has_key="legacy_invalid").first()
    assert organization.settings[DEMO_MARKER]["legacy_invalid"]["tickets"]


def test_same_seed_same_data_other_seed_other_data():
    seed("--seed", "7")
    first = list(
        Ticket.all_objects.order_by("organization__name", "ticket_number").values_list("subject", "status")
    )
    names = sorted(Organization.all_objects.values_list("name", flat=True))
    seed("--seed", "7", "--reset")
    again = list(
        Ticket.all_objects.order_by("organization__name", "ticket_number").values_list("subject", "status")
    )
    assert again == first
    assert sorted(Organization.all_objects.values_list("name", flat=True)) == names
    seed("--seed", "8", "--reset")
    other = list(
        Ticket.all_objects.order_by("organization__name", "ticket_number").values_list("subject", "status")
    )
    assert other != first


def test_second_run_needs_reset_or_append(seeded):
    with pytest.raises(CommandError, match="--reset"):
        seed()
    bystander = OrganizationFactory(slug="not-demo")
    UserFactory(organization=bystander)
    seed("--append")
    assert demo_organizations().count() == 6
    slugs = list(Organization.objects.values_list("slug", flat=True))
    assert len(slugs) == len(set(slugs))
    out = seed("--reset")
    assert "Removed 6 demo organizations" in out
    assert demo_organizations().count() == 3
    # Only seed_demo's own organizations go.
    assert Organization.objects.filter(slug="not-demo").exists()
    assert User.objects.filter(organization=bystander).exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (("--tickets", "-5"), "out of range"),
        (("--orgs", "0"), "out of range"),
        (("--orgs", "many"), "not a whole number"),
        (("--reset", "--append"), "not allowed with"),
    ],
)
def test_bad_input_is_a_clear_error(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", *args, stdout=StringIO(), stderr=StringIO())


def test_zero_tickets_is_fine():
    out = StringIO()
    call_command("seed_demo", "--orgs", "1", "--tickets", "0", "--no-progress", stdout=out, stderr=StringIO())
    assert Organization.objects.exists()
    assert not Ticket.all_objects.exists()


def test_admin_pages_render_on_seeded_data(seeded, admin_client):
    for model in (
        Organization,
        User,
        Ticket,
        TicketComment,
        TicketAttachment,
        KnowledgeBaseArticle,
        SLAPolicy,
    ):
        opts = model._meta
        assert (
            admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code
            == 200
        )
    ticket = Ticket.objects.filter(comments__isnull=False, attachments__isnull=False).first()
    assert admin_client.get(reverse("admin:models_core_ticket_change", args=[ticket.pk])).status_code == 200
