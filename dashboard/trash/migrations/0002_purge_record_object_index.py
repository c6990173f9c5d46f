from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built without locking writes: purge records are an append-only log that can be large.
    atomic = False

    dependencies = [
        ("trash", "0001_purge_record"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="purgerecord",
            index=models.Index(fields=["model_label", "object_id", "-id"], name="purgerecord_object"),
        ),
    ]
