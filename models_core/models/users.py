from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from .. import schema
from ..softdelete import EnhancedSoftDeleteModel, SoftDeleteQuerySet
from ..validation import CentralizedValidationMixin


class LiveUserManager(UserManager.from_queryset(SoftDeleteQuerySet)):
    """`User.objects`: Django's UserManager (create_user, get_by_natural_key, ...) over live users only, so a
    trashed user cannot log in and keeps no session (ModelBackend looks users up through it)."""

    def get_queryset(self) -> SoftDeleteQuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)


class AllUsersManager(UserManager.from_queryset(SoftDeleteQuerySet)):
    """`User.all_objects`: every user, trash included (the base manager), with UserManager's helpers."""

    use_in_migrations = False


class User(CentralizedValidationMixin, AbstractUser, EnhancedSoftDeleteModel):
    """The helpdesk's user and Django's AUTH_USER_MODEL.

    `organization` binds a user to one tenant; platform staff have none and see every organization.
    `is_active` keeps Django's meaning (may log in): a suspended user is live, not in the trash. Soft delete
    sets it False and restore puts back the value it had before.
    """

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MANAGER = "manager", "Manager"
        AGENT = "agent", "Agent"
        CUSTOMER = "customer", "Customer"

    class Availability(models.TextChoices):
        AVAILABLE = "available", "Available"
        BUSY = "busy", "Busy"
        AWAY = "away", "Away"
        OFFLINE = "offline", "Offline"

    class CustomerTier(models.TextChoices):
        BASIC = "basic", "Basic"
        PREMIUM = "premium", "Premium"
        ENTERPRISE = "enterprise", "Enterprise"

    # Declared here because both bases define it; this is Django's field, with its meaning.
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Whether this user may log in. False for suspended users and users in the trash.",
    )
    organization = models.ForeignKey(
        "models_core.Organization",
        null=True,
        blank=True,
        # Purging an organization purges its users; idx_user_org_role leads with this column.
        on_delete=models.CASCADE,
        related_name="users",
        db_index=False,
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CUSTOMER)
    availability_status = models.CharField(
        max_length=20,
        choices=Availability.choices,
        default=Availability.OFFLINE,
        help_text="Only admins, managers and agents can be anything but offline.",
    )
    skills = models.JSONField(default=list, blank=True, help_text="A JSON list of skill names.")
    certifications = models.JSONField(
        default=list, blank=True, help_text="A JSON list of certification names."
    )
    max_concurrent_tickets = models.SmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    customer_tier = models.CharField(
        max_length=20,
        choices=CustomerTier.choices,
        default=CustomerTier.BASIC,
        help_text="Only customers can be anything but basic.",
    )
    last_active_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = LiveUserManager()
    all_objects = AllUsersManager()

    # Platform staff have no organization: organization-bound users never see them.
    organization_path = "organization"

    class SoftDeleteMeta:
        # A user's tickets are not theirs to take along: tickets belong to the organization and stay visible
        # (with the customer shown as deleted). Their sessions are switched off so a trashed account is signed
        # out everywhere; restore does not switch them back on (the user signs in again). Their permission
        # grants stay: they are inert while the user is in the trash (no login) and return with a restore;
        # purge removes them.
        cascade = ()
        deactivate = ("sessions",)

    class Meta(EnhancedSoftDeleteModel.Meta):
        ordering = ["username"]
        verbose_name = "user"
        verbose_name_plural = "users"
        indexes = schema.user_indexes()
        constraints = schema.user_constraints()

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def trash_label(self) -> str:
        return f"“{self.username}”"
