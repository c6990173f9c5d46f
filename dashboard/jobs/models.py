"""JobRun: what the console shows about one background job (its procrastinate job is the queue's side)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class JobRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    UNFINISHED = (Status.QUEUED, Status.RUNNING)
    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)
    # What a person may retry: the job did not do its work (a retry of a job that names exactly what it acts
    # on does the rest, or nothing).
    RETRYABLE = (Status.FAILED, Status.CANCELLED)

    kind = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    progress_done = models.PositiveBigIntegerField(default=0)
    # Null until the task knows how much work there is.
    progress_total = models.PositiveBigIntegerField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="job_runs"
    )
    organization = models.ForeignKey(
        "models_core.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="job_runs"
    )
    procrastinate_job_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The home page's "my recent jobs" card.
            models.Index(fields=["started_by", "-created_at"], name="jobrun_user_recent_idx"),
            # Pruning old runs scans by age.
            models.Index(fields=["created_at"], name="jobrun_created_idx"),
            # The reconciler reads only unfinished runs, a handful however many finished ones there are.
            models.Index(
                fields=["procrastinate_job_id"],
                condition=Q(status__in=["queued", "running"]),
                name="jobrun_unfinished_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress_total__isnull=True) | Q(progress_done__lte=F("progress_total")),
                name="jobrun_progress_within_total",
                violation_error_message="A job cannot have done more than its total.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int | None:
        """Whole percent done, or None while the total is unknown."""
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.progress_total:
            return None
        return min(100, self.progress_done * 100 // self.progress_total)
