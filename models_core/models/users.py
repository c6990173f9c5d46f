from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """The helpdesk's user and Django's AUTH_USER_MODEL.

    `organization` binds a staff user to one tenant; platform staff have none and see every organization.
    """

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MANAGER = "manager", "Manager"
        AGENT = "agent", "Agent"
        CUSTOMER = "customer", "Customer"

    organization = models.ForeignKey(
        "models_core.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CUSTOMER)
