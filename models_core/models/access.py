from django.conf import settings
from django.db import models
from django.utils import timezone

from .. import schema
from ..hooks import HookAwareQuerySet, ModelHooksMixin


class UserSession(ModelHooksMixin, models.Model):
    """A sign-in of a user (browser or API client).

    Not soft-deleted: a session is switched off (is_active=False) when its user goes to the trash, never
    switched back on by a restore, and hard-deleted with the user by purge (CASCADE).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_seen_at = models.DateTimeField(default=timezone.now)

    objects = HookAwareQuerySet.as_manager()

    organization_path = "user__organization"

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        verbose_name = "user session"
        verbose_name_plural = "user sessions"
        constraints = schema.session_constraints()

    def __str__(self) -> str:
        return f"Session of {self.user} from {self.ip_address or 'unknown address'}"


class UserPermission(ModelHooksMixin, models.Model):
    """A permission codename granted to one user (e.g. "trash.restore").

    Not soft-deleted: grants stay while their user is in the trash (inert: the user cannot log in), come back
    with a restore, and are hard-deleted with the user by purge (CASCADE).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="custom_permissions",
        db_index=False,  # unique_user_permission (user, permission) serves lookups by user
    )
    permission = models.CharField(max_length=100, help_text="A permission codename such as 'trash.restore'.")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # The grant outlives the account of whoever granted it.
        on_delete=models.SET_NULL,
        related_name="permissions_granted",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = HookAwareQuerySet.as_manager()

    organization_path = "user__organization"

    class Meta:
        ordering = ["user", "permission"]
        verbose_name = "user permission"
        verbose_name_plural = "user permissions"
        constraints = schema.permission_constraints()

    def __str__(self) -> str:
        return f"{self.user}: {self.permission}"
