from django.contrib.postgres.fields import DateRangeField
from django.core.validators import MinValueValidator
from django.db import models

from .. import schema
from ..softdelete import EnhancedSoftDeleteModel
from ..validation import CentralizedValidationMixin
from .tickets import Ticket


class SLAPolicy(CentralizedValidationMixin, EnhancedSoftDeleteModel):
    """Response and resolution targets for one priority of one organization, valid over a period of days.

    `is_active` means "enabled" here (a disabled policy is still live); soft delete remembers it and restore
    puts it back. Enabled live policies of one organization and priority may not overlap in time.
    """

    organization = models.ForeignKey(
        # Purging the organization purges its policies; the FK index serves that and the cascades (the
        # exclusion constraint's GiST index is partial).
        "models_core.Organization",
        on_delete=models.CASCADE,
        related_name="sla_policies",
    )
    name = models.CharField(max_length=200)
    priority = models.CharField(max_length=20, choices=Ticket.Priority.choices)
    first_response_minutes = models.IntegerField(
        validators=[MinValueValidator(1)], help_text="Minutes until the first response is due."
    )
    resolution_minutes = models.IntegerField(
        validators=[MinValueValidator(1)], help_text="Minutes until the resolution is due."
    )
    validity = DateRangeField(help_text="The days this policy applies to (upper bound may be open).")
    is_active = models.BooleanField(
        default=True, help_text="Enabled. False too while the policy is in the trash."
    )

    organization_path = "organization"

    class SoftDeleteMeta:
        cascade = ()
        deactivate = ()

    class Meta(EnhancedSoftDeleteModel.Meta):
        ordering = ["organization", "priority", "name", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        indexes = schema.sla_indexes()
        constraints = schema.sla_constraints()

    def __str__(self) -> str:
        return f"{self.name} ({self.get_priority_display()})"
