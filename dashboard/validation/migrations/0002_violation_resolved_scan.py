# A violation records the run that found it resolved instead of the last run that saw it: a scan then writes
# only what changed (new, resolved), not every violation that is still there.
#
# Existing rows: one last seen in the rule's latest non-errored run is current (resolved_scan empty); one
# last seen earlier was found resolved by the rule's next non-errored run after that.

import django.db.models.deletion
from django.db import migrations, models

FILL_RESOLVED = """
UPDATE validation_violation v
SET resolved_scan_id = (
    SELECT min(r.scan_id) FROM validation_scanresult r
    WHERE r.model_label = v.model_label AND r.rule_name = v.rule_name AND NOT r.errored
        AND r.scan_id > v.last_seen_scan_id
)
"""
# Back: a current violation was last seen in the rule's latest non-errored run; a resolved one in the last
# non-errored run before the one that resolved it (its first sighting at the latest).
FILL_LAST_SEEN = """
UPDATE validation_violation v
SET last_seen_scan_id = COALESCE(
    (
        SELECT max(r.scan_id) FROM validation_scanresult r
        WHERE r.model_label = v.model_label AND r.rule_name = v.rule_name AND NOT r.errored
            AND (v.resolved_scan_id IS NULL OR r.scan_id < v.resolved_scan_id)
    ),
    v.first_seen_scan_id
)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("validation", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="violation",
            name="resolved_scan",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="validation.validationscan",
            ),
        ),
        migrations.AlterField(
            model_name="violation",
            name="last_seen_scan",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="validation.validationscan",
            ),
        ),
        migrations.RunSQL(FILL_RESOLVED, FILL_LAST_SEEN),
        migrations.RemoveConstraint(model_name="violation", name="validation_violation_seen_order"),
        migrations.RemoveIndex(model_name="violation", name="validation_violation_seen_idx"),
        migrations.RemoveField(model_name="violation", name="last_seen_scan"),
        migrations.AddIndex(
            model_name="violation",
            index=models.Index(
                condition=models.Q(("resolved_scan__isnull", True)),
                fields=["model_label", "rule_name", "object_id"],
                name="validation_violation_open_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="violation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("resolved_scan__isnull", True),
                    ("resolved_scan__gt", models.F("first_seen_scan")),
                    _connector="OR",
                ),
                name="validation_violation_resolved_order",
                violation_error_message="A violation cannot be resolved before it was first seen.",
            ),
        ),
    ]
