from django.conf import settings
from django.db import models
from django.utils import timezone

from .. import schema
from ..softdelete import EnhancedSoftDeleteModel
from ..validation import CentralizedValidationMixin


class KnowledgeBaseArticle(CentralizedValidationMixin, EnhancedSoftDeleteModel):
    """A help article of one organization's knowledge base."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    organization = models.ForeignKey(
        # Purging the organization purges its knowledge base. A full FK index stays: the slug constraint only
        # covers live rows, and cascades/purges look up trashed ones too.
        "models_core.Organization",
        on_delete=models.CASCADE,
        related_name="articles",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        # An article outlives its author's account.
        on_delete=models.SET_NULL,
        related_name="articles",
    )
    title = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=200, db_index=False, help_text="Unique among the organization's live articles."
    )
    content = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    view_count = models.IntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    organization_path = "organization"

    class SoftDeleteMeta:
        cascade = ()
        deactivate = ()

    class Meta(EnhancedSoftDeleteModel.Meta):
        ordering = ["title", "id"]
        verbose_name = "knowledge base article"
        verbose_name_plural = "knowledge base articles"
        indexes = schema.article_indexes()
        constraints = schema.article_constraints()

    def __str__(self) -> str:
        return self.title
