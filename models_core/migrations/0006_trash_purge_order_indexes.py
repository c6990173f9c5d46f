# The trash list's "Purging within 7 days" pages in purge order, (auto_delete_at, id): idx_<x>_purge_due
# gains the id (a keyset needs a unique order) and roots-only and per-organization twins join it. Built
# concurrently (no lock on writes); the old purge-due index stays until its replacement is ready, so the
# purge job always has one.

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

IN_TRASH = models.Q(("deleted_at__isnull", False))
TRASH_ROOT = models.Q(
    ("deleted_at__isnull", False),
    models.Q(("deletion_metadata__contains", {"cascaded": True}), _negated=True),
)
DUE = ["auto_delete_at", "id"]
# (model, index prefix, organization field or None)
MODELS = [
    ("knowledgebasearticle", "kb", "organization"),
    ("organization", "org", None),
    ("slapolicy", "sla", "organization"),
    ("ticket", "ticket", "organization"),
    ("ticketattachment", "attachment", "organization"),
    ("ticketcomment", "comment", "organization"),
    ("user", "user", "organization"),
]


def _operations(model_name: str, prefix: str, scoped_by: str | None) -> list:
    new = f"idx_{prefix}_purge_due_new"
    ops = [
        AddIndexConcurrently(
            model_name=model_name, index=models.Index(condition=IN_TRASH, fields=DUE, name=new)
        ),
        RemoveIndexConcurrently(model_name=model_name, name=f"idx_{prefix}_purge_due"),
        migrations.RenameIndex(model_name=model_name, new_name=f"idx_{prefix}_purge_due", old_name=new),
        AddIndexConcurrently(
            model_name=model_name,
            index=models.Index(condition=TRASH_ROOT, fields=DUE, name=f"idx_{prefix}_roots_due_all"),
        ),
    ]
    if scoped_by:
        ops += [
            AddIndexConcurrently(
                model_name=model_name,
                index=models.Index(
                    condition=IN_TRASH, fields=[scoped_by, *DUE], name=f"idx_{prefix}_trash_due"
                ),
            ),
            AddIndexConcurrently(
                model_name=model_name,
                index=models.Index(
                    condition=TRASH_ROOT, fields=[scoped_by, *DUE], name=f"idx_{prefix}_roots_due"
                ),
            ),
        ]
    return ops


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("models_core", "0005_trash_reason_search_indexes"),
    ]

    operations = [op for model in MODELS for op in _operations(*model)]
