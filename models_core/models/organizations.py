from django.db import models


class Organization(models.Model):
    """A tenant of the helpdesk. Minimal until the model layer (issue 3) lands."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
