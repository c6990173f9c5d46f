"""DB health's own tables: statistics snapshots and recorded constraint violations.

Nothing here holds customer content: index, table and constraint names, counters and ids only.
"""

from django.db import DEFAULT_DB_ALIAS, models


class SnapshotRun(models.Model):
    """One reading of PostgreSQL's statistics views, taken hourly (or on demand)."""

    class Source(models.TextChoices):
        JOB = "job", "Hourly job"
        COMMAND = "command", "Management command"
        PAGE = "page", "Taken from the page"

    taken_at = models.DateTimeField(db_index=True)
    # The database alias whose statistics these are: each node of a cluster counts its own scans.
    node = models.CharField(max_length=63, default=DEFAULT_DB_ALIAS)
    # pg_stat_database.stats_reset at the time: a change between two runs means the counters restarted.
    stats_reset = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.JOB)
    index_count = models.PositiveIntegerField(default=0)
    table_count = models.PositiveIntegerField(default=0)
    # Set when the node could not be read (a replica down): the run holds no readings then.
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-taken_at", "-id"]

    def __str__(self) -> str:
        return f"Snapshot {self.taken_at:%Y-%m-%d %H:%M}"


class IndexSnapshot(models.Model):
    """pg_stat_user_indexes + pg_index + size for one index at one run."""

    run = models.ForeignKey(SnapshotRun, on_delete=models.CASCADE, related_name="indexes")
    schema_name = models.CharField(max_length=63)
    table_name = models.CharField(max_length=63)
    index_name = models.CharField(max_length=63)
    method = models.CharField(max_length=63)
    idx_scan = models.BigIntegerField()
    idx_tup_read = models.BigIntegerField()
    idx_tup_fetch = models.BigIntegerField()
    size_bytes = models.BigIntegerField()
    is_valid = models.BooleanField()
    is_unique = models.BooleanField()
    is_primary = models.BooleanField()
    is_exclusion = models.BooleanField()
    definition = models.TextField()

    class Meta:
        indexes = [
            # The scans-per-day chart walks one index's history in time order.
            models.Index(
                fields=["schema_name", "table_name", "index_name", "run"], name="dbh_idxsnap_history"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.index_name} @ {self.run_id}"


class TableSnapshot(models.Model):
    """pg_stat_user_tables + total size for one table at one run."""

    run = models.ForeignKey(SnapshotRun, on_delete=models.CASCADE, related_name="tables")
    schema_name = models.CharField(max_length=63)
    table_name = models.CharField(max_length=63)
    size_bytes = models.BigIntegerField()
    seq_scan = models.BigIntegerField()
    idx_scan = models.BigIntegerField()
    n_live_tup = models.BigIntegerField()
    n_dead_tup = models.BigIntegerField()
    # Writes since the last reset; every insert and every non-HOT update writes each index of the table.
    # NULL in snapshots taken before these were recorded.
    n_tup_ins = models.BigIntegerField(null=True)
    n_tup_upd = models.BigIntegerField(null=True)
    n_tup_hot_upd = models.BigIntegerField(null=True)
    n_tup_del = models.BigIntegerField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["schema_name", "table_name", "run"], name="dbh_tabsnap_history"),
        ]

    def __str__(self) -> str:
        return f"{self.table_name} @ {self.run_id}"


class IndexDailyStat(models.Model):
    """One index's scans on one day on one node, summed from the deltas between consecutive snapshots.

    Written by each snapshot as it is taken (dbhealth.services.index_daily_rollup), so the charts of a 90-day
    window read one row per index and day instead of 24 readings and their window functions.
    """

    node = models.CharField(max_length=63, default=DEFAULT_DB_ALIAS)
    day = models.DateField()
    schema_name = models.CharField(max_length=63)
    table_name = models.CharField(max_length=63)
    index_name = models.CharField(max_length=63)
    scans = models.BigIntegerField(default=0)
    size_bytes = models.BigIntegerField(default=0)  # at the day's last snapshot
    # A counter went down or the database's statistics were reset: the day counts scans since the reset.
    reset = models.BooleanField(default=False)
    readings = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["node", "schema_name", "table_name", "index_name", "day"], name="dbh_daily_unique"
            ),
        ]
        indexes = [models.Index(fields=["node", "day"], name="dbh_daily_window")]

    def __str__(self) -> str:
        return f"{self.table_name}.{self.index_name} {self.day}"


class DeclaredIndexDefinition(models.Model):
    """A declared index's definition as PostgreSQL normalises it, computed at migrate time.

    Rebuilding Django's statement on an empty copy of its table is the only reliable normaliser (quoting,
    casts, IN-lists), and it is DDL: done by `migrate` (post_migrate) or `manage.py dbhealth_declarations`,
    never by a page. `statement_sha` is the hash of the statement it was computed from, so a definition
    stored by other code is not compared.
    """

    name = models.CharField(max_length=63, unique=True)
    table_name = models.CharField(max_length=63)
    statement_sha = models.CharField(max_length=64)
    definition = models.TextField(null=True)  # None: the statement could not be rebuilt
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class ConstraintViolation(models.Model):
    """One integrity error (or one caught earlier by model validation), without the row's values.

    Written through its own autocommit connection (dbhealth.recorder), so it outlives the rolled-back
    transaction that failed. Organization and user are plain ids, not foreign keys: the record must be
    writable whatever state the failed transaction left, and must survive the purge of either.
    """

    class Kind(models.TextChoices):
        ERROR = "error", "Error (reached the database)"
        PREVENTED = "prevented", "Prevented (caught by validation)"

    class SourceKind(models.TextChoices):
        VIEW = "view", "View"
        COMMAND = "command", "Command"
        TASK = "task", "Background task"
        OTHER = "other", "Other"

    occurred_at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    sqlstate = models.CharField(max_length=5)
    constraint_name = models.CharField(max_length=63, blank=True)
    table_name = models.CharField(max_length=63, blank=True)
    column_name = models.CharField(max_length=63, blank=True)
    model_label = models.CharField(max_length=200, blank=True)
    organization_id = models.BigIntegerField(null=True, blank=True)
    user_id = models.BigIntegerField(null=True, blank=True)
    source_kind = models.CharField(max_length=20, choices=SourceKind.choices, default=SourceKind.OTHER)
    source = models.CharField(max_length=200, blank=True)

    organization_path = "organization_id"  # a plain id: the record outlives a purged organization

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["constraint_name", "occurred_at"], name="dbh_violation_constraint"),
            models.Index(fields=["organization_id", "occurred_at"], name="dbh_violation_org"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.sqlstate} {self.constraint_name or self.column_name} at {self.occurred_at:%Y-%m-%d %H:%M}"
        )


class AdvisorRun(models.Model):
    """One pass of the index advisor over the workload pg_stat_statements holds (dashboard.dbhealth.advisor).

    Holds normalized statements (PostgreSQL's own text with $n placeholders) and plan costs, never a
    parameter or row value.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_by = models.ForeignKey(
        "models_core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    statements_total = models.PositiveIntegerField(default=0)  # rows pg_stat_statements held
    statements_examined = models.PositiveIntegerField(default=0)  # the costliest ones planned
    hypopg_available = models.BooleanField(default=False)
    notes = models.JSONField(default=list, blank=True)  # statements skipped and why (no values)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Advisor run {self.started_at:%Y-%m-%d %H:%M}"


class IndexAdvice(models.Model):
    """One index the advisor proposes, with its proof and the Django side of adding it."""

    run = models.ForeignKey(AdvisorRun, on_delete=models.CASCADE, related_name="advice")
    # The candidate's identity across runs (table, method, keys, opclasses, predicate): dismissals match it.
    fingerprint = models.CharField(max_length=64, db_index=True)
    table_name = models.CharField(max_length=63)
    method = models.CharField(max_length=20)
    definition = models.TextField()  # CREATE INDEX ... as PostgreSQL would be asked to build it
    proven = models.BooleanField()  # a hypothetical (or trial) index lowered the queries' cost
    proof = models.CharField(max_length=20)  # "hypopg", "trial" or "none"
    unproven_reason = models.TextField(blank=True)
    cost_before = models.FloatField()  # summed over the queries it serves, weighted by calls
    cost_after = models.FloatField()
    estimated_size_bytes = models.BigIntegerField(null=True, blank=True)
    writes_per_day = models.FloatField(null=True, blank=True)  # inserts + updates + deletes on the table
    queries = models.JSONField(default=list)  # [{queryid, statement, calls, cost_before, cost_after, ...}]
    # The other indexes this one was proven with (the arms of an OR, which a BitmapOr needs all of).
    proven_with = models.JSONField(default=list, blank=True)
    model_label = models.CharField(max_length=200, blank=True)
    meta_entry = models.TextField(blank=True)
    migration = models.TextField(blank=True)
    makes_redundant = models.JSONField(default=list, blank=True)  # existing index names

    class Meta:
        ordering = ["run", "-cost_before", "id"]

    def __str__(self) -> str:
        return self.definition

    @property
    def gain(self) -> float:
        """How many times cheaper the served queries become (cost before / cost after)."""
        return self.cost_before / self.cost_after if self.cost_after > 0 else float("inf")

    @property
    def time_gain(self) -> float | None:
        """How many times less server time the served queries would take, weighted by calls: their measured
        mean over the estimate with the index (dashboard.dbhealth.advisor.timing); None before it was kept."""
        if not self.queries or any("ms_after" not in q for q in self.queries):
            return None
        before = sum(q["calls"] * q["mean_ms"] for q in self.queries)
        after = sum(q["calls"] * q["ms_after"] for q in self.queries)
        return before / after if after > 0 else None


class AdviceDismissal(models.Model):
    """A DBA's decision not to follow one advice (matched by fingerprint in later runs), with a reason."""

    fingerprint = models.CharField(max_length=64, unique=True)
    definition = models.TextField()
    reason = models.TextField()
    dismissed_by = models.ForeignKey(
        "models_core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dismissed_at = models.DateTimeField()

    class Meta:
        ordering = ["-dismissed_at", "-id"]

    def __str__(self) -> str:
        return f"Dismissed: {self.definition}"
