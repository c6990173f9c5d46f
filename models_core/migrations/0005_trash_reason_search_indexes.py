# The trash list's "Reason contains" filter: a partial trigram index on delete_reason per soft-delete model.
# Built concurrently (no lock on writes): these are the biggest tables, and a trash of millions of rows takes
# a while to index.

import django.contrib.postgres.indexes
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

IN_TRASH = models.Q(("deleted_at__isnull", False))
MODELS = [
    ("knowledgebasearticle", "kb"),
    ("organization", "org"),
    ("slapolicy", "sla"),
    ("ticket", "ticket"),
    ("ticketattachment", "attachment"),
    ("ticketcomment", "comment"),
    ("user", "user"),
]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("models_core", "0004_pending_file_removals"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name=model_name,
            index=django.contrib.postgres.indexes.GinIndex(
                condition=IN_TRASH,
                fields=["delete_reason"],
                name=f"idx_{prefix}_trash_reason",
                opclasses=["gin_trgm_ops"],
            ),
        )
        for model_name, prefix in MODELS
    ]
