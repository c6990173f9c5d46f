from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.utils import timezone

from .. import schema
from ..softdelete import EnhancedSoftDeleteModel
from ..validation import CentralizedValidationMixin


class Ticket(CentralizedValidationMixin, EnhancedSoftDeleteModel):
    """A support request of one customer in one organization."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    organization = models.ForeignKey(
        "models_core.Organization",
        # A ticket cannot outlive its tenant: purging the organization purges its tickets. The column leads
        # several composite indexes, so no separate FK index.
        on_delete=models.CASCADE,
        related_name="tickets",
        db_index=False,
    )
    ticket_number = models.PositiveIntegerField(
        blank=True,
        editable=False,
        help_text="Per organization, taken from its counter on save; never reused.",
    )
    subject = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=20, choices=Priority.choices, default=Priority.MEDIUM)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        # A customer with tickets cannot be purged alone (the tickets are the organization's record); purging
        # the organization removes both, which RESTRICT allows and PROTECT would not.
        on_delete=models.RESTRICT,
        related_name="customer_tickets",
    )
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # Purging an agent leaves their tickets unassigned.
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    tags = models.JSONField(default=list, blank=True, help_text="A JSON list of tag names.")
    custom_fields = models.JSONField(
        default=dict, blank=True, help_text="A JSON object of custom field values."
    )
    first_response_due = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    sla_breach = models.BooleanField(default=False)
    time_to_first_response = models.DurationField(null=True, blank=True)
    customer_satisfaction_score = models.SmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    organization_path = "organization"

    class SoftDeleteMeta:
        cascade = ("comments", "attachments")
        deactivate = ()

    class Meta(EnhancedSoftDeleteModel.Meta):
        ordering = ["-id"]
        verbose_name = "ticket"
        verbose_name_plural = "tickets"
        indexes = schema.ticket_indexes()
        constraints = schema.ticket_constraints()
        triggers = schema.ticket_moved_triggers()

    def __str__(self) -> str:
        return f"#{self.ticket_number} {self.subject}"

    @property
    def trash_label(self) -> str:
        return f"#{self.ticket_number}"

    def save(self, *args, **kwargs) -> None:
        if self.ticket_number is None and self.organization_id is not None:
            with transaction.atomic():
                self.ticket_number = self.organization.next_ticket_number()
                super().save(*args, **kwargs)
            return
        super().save(*args, **kwargs)


def _ticket_organization() -> models.ForeignKey:
    """The ticket's organization, copied onto its comments and attachments so tenancy scoping and the trash
    list reach it without a join (their trash indexes lead with it). The database keeps it right whatever
    writes the row (bulk inserts, imports, raw SQL): see schema.ticket_organization_triggers."""
    return models.ForeignKey(
        "models_core.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # its index is named in schema.ticket_organization_index
        editable=False,
        # Filled from the ticket, never by a form. NULL only while the ticket id dangles (no such ticket):
        # such a row fails its deferred foreign key at commit, as it did before the column existed.
        null=True,
        blank=True,
        help_text="The ticket's organization (kept by the database).",
    )


def _copy_ticket_organization(row: models.Model) -> None:
    # The trigger writes the same value; setting it here keeps the saved instance in step.
    if row.ticket_id is None:
        return
    cached = row._state.fields_cache.get("ticket")
    if cached is not None and cached.pk == row.ticket_id:
        row.organization_id = cached.organization_id
    else:
        row.organization_id = (
            Ticket._base_manager.filter(pk=row.ticket_id).values_list("organization_id", flat=True).first()
        )


class TicketComment(CentralizedValidationMixin, EnhancedSoftDeleteModel):
    """A reply or note on a ticket."""

    class CommentType(models.TextChoices):
        PUBLIC = "public", "Public reply"
        INTERNAL = "internal", "Internal note"
        SYSTEM = "system", "System event"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    organization = _ticket_organization()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # System comments have no author; purging a user keeps the conversation, unattributed.
        on_delete=models.SET_NULL,
        related_name="ticket_comments",
    )
    content = models.TextField()
    comment_type = models.CharField(max_length=20, choices=CommentType.choices, default=CommentType.PUBLIC)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    organization_path = "organization"  # denormalized from the ticket (kept by a trigger)
    # The database keeps `organization` equal to `ticket.organization` (schema.ticket_organization_triggers):
    # purging an organization reaches the rows by it, not again through its tickets (models_core.cascade).
    copied_keys = {"organization": "ticket"}

    class SoftDeleteMeta:
        cascade = ("attachments",)
        deactivate = ()

    class Meta(EnhancedSoftDeleteModel.Meta):
        ordering = ["created_at", "id"]
        verbose_name = "ticket comment"
        verbose_name_plural = "ticket comments"
        indexes = schema.comment_indexes()
        constraints = schema.comment_constraints()
        triggers = schema.ticket_organization_triggers("comment")

    def __str__(self) -> str:
        return f"Comment {self.pk} on ticket #{self.ticket.ticket_number}" if self.ticket_id else "Comment"

    @property
    def trash_label(self) -> str:
        return f"{self.pk} on ticket #{self.ticket.ticket_number}"

    def save(self, *args, **kwargs) -> None:
        _copy_ticket_organization(self)
        super().save(*args, **kwargs)


def attachment_upload_to(instance: "TicketAttachment", filename: str) -> str:
    return f"attachments/{instance.ticket.organization_id}/{instance.ticket_id}/{filename}"


class TicketAttachment(CentralizedValidationMixin, EnhancedSoftDeleteModel):
    """A file attached to a ticket, optionally through one of its comments."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    organization = _ticket_organization()
    comment = models.ForeignKey(
        TicketComment,
        null=True,
        blank=True,
        # Goes (to the trash, and when purged) with the comment it was posted with.
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="uploaded_attachments",
    )
    file = models.FileField(upload_to=attachment_upload_to, max_length=255)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField(default=0, validators=[MinValueValidator(0)], help_text="Bytes.")
    download_count = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    organization_path = "organization"  # denormalized from the ticket (kept by a trigger)
    # The database keeps `organization` equal to `ticket.organization` (schema.ticket_organization_triggers):
    # purging an organization reaches the rows by it, not again through its tickets (models_core.cascade).
    copied_keys = {"organization": "ticket"}

    class SoftDeleteMeta:
        cascade = ()
        deactivate = ()

    class Meta(EnhancedSoftDeleteModel.Meta):
        ordering = ["created_at", "id"]
        verbose_name = "ticket attachment"
        verbose_name_plural = "ticket attachments"
        indexes = schema.attachment_indexes()
        constraints = schema.attachment_constraints()
        triggers = schema.ticket_organization_triggers("attachment")

    def __str__(self) -> str:
        return self.filename

    def save(self, *args, **kwargs) -> None:
        _copy_ticket_organization(self)
        super().save(*args, **kwargs)
