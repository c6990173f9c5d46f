from django.db import connection, models
from django.utils import timezone

from .. import schema
from ..softdelete import EnhancedSoftDeleteModel
from ..validation import CentralizedValidationMixin


class Organization(CentralizedValidationMixin, EnhancedSoftDeleteModel):
    """A tenant of the helpdesk: its users, tickets, articles and SLA policies belong to it.

    `settings` is free-form JSON; the one key the model layer reads is `retention_days` (see
    models_core.retention; checked by the validation rule `settings_retention_settings`).
    """

    class SubscriptionTier(models.TextChoices):
        FREE = "free", "Free"
        BASIC = "basic", "Basic"
        PROFESSIONAL = "professional", "Professional"
        ENTERPRISE = "enterprise", "Enterprise"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, db_index=False, help_text="Unique among live organizations.")
    subscription_tier = models.CharField(
        max_length=20, choices=SubscriptionTier.choices, default=SubscriptionTier.FREE
    )
    settings = models.JSONField(default=dict, blank=True)
    # Ticket numbers come from this counter, never from MAX(ticket_number): a number stays used even after its
    # ticket was trashed or purged.
    last_ticket_number = models.IntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    organization_path = "pk"  # the row is the tenant itself

    class SoftDeleteMeta:
        # Everything of a tenant goes to the trash with it. Hard delete (purge) follows the CASCADE foreign
        # keys of the same relations, so a purged organization leaves nothing behind.
        cascade = ("users", "tickets", "articles", "sla_policies")
        deactivate = ()

    class Meta(EnhancedSoftDeleteModel.Meta):
        ordering = ["name", "id"]
        verbose_name = "organization"
        verbose_name_plural = "organizations"
        indexes = schema.organization_indexes()
        constraints = schema.organization_constraints()

    def __str__(self) -> str:
        return self.name

    def next_ticket_number(self) -> int:
        """Take the next ticket number of this organization (atomic; numbers are never handed out twice)."""
        return self.reserve_ticket_numbers(1)[0]

    def reserve_ticket_numbers(self, count: int) -> range:
        """Take `count` consecutive ticket numbers in one statement, for writers that bypass `Ticket.save()`
        (bulk_create in importers and the demo-data generator)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        table = connection.ops.quote_name(self._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET last_ticket_number = last_ticket_number + %s WHERE id = %s "
                "RETURNING last_ticket_number",
                [count, self.pk],
            )
            (last,) = cursor.fetchone()
        self.last_ticket_number = last
        return range(last - count + 1, last + 1)
