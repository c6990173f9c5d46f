"""The benchmarks `bench/run.py` runs: each yields `Result`s (a measure and its baseline, same run).

Baselines are either the peer a goal names (the stock Django admin changelist of deleted tickets for the
trash list) or the floor: the raw SQL of the page's main query, which no page can beat.
"""

from __future__ import annotations

import datetime
import statistics
import uuid
from collections.abc import Iterator

from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from bench.run import Result, compare
from models_core.models import Organization, Ticket, User

HOST = "localhost"


def _user(username: str, **fields) -> User:
    user = User.all_objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username, email=f"{username}@example.com", **fields)
    return user


def bench_manager() -> User:
    """A Support manager of the second organization (a regular tenant)."""
    org = Organization.all_objects.get(slug="bench-2")
    user = _user("bench-manager", organization=org, role="manager", is_staff=True)
    user.groups.add(Group.objects.get(name="Support managers"))
    return user


def bench_platform() -> User:
    return _user("bench-platform", is_staff=True, is_superuser=True)


def client_for(user: User) -> Client:
    client = Client(HTTP_HOST=HOST)
    client.force_login(user)
    return client


class PageRefused(Exception):
    pass


def get_ok(client: Client, url: str, query: dict | None = None) -> None:
    response = client.get(url, query or {})
    if response.status_code != 200:
        raise PageRefused(f"GET {url} {query or ''}: {response.status_code}")
    if hasattr(response, "streaming_content"):
        for _ in response.streaming_content:
            pass


def raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        cursor.fetchall()


class StockDeletedTickets(admin.ModelAdmin):
    """The stock admin's changelist of deleted tickets: Django's paginator (a COUNT) and its queries."""

    list_per_page = 25
    list_display = ("ticket_number", "subject", "organization", "deleted_at", "deleted_by", "delete_reason")
    list_select_related = ("organization", "deleted_by")
    ordering = ("-deleted_at", "-id")

    def get_queryset(self, request):
        return Ticket.all_objects.filter(deleted_at__isnull=False)


STOCK_URL = "/bench/stock/deleted-tickets/"


def stock_changelist(client: Client, query: dict | None = None):
    """The stock changelist as a request through the site's middleware (bench/stock_urls.py), as a trash page
    is: session, user, permissions and the response pass are in both sides of the ratio. Needs
    `stock_urls()` active."""

    def run() -> None:
        get_ok(client, STOCK_URL, query)

    return run


def stock_urls():
    """The site's URLs plus the stock changelist at STOCK_URL, for the `with` block of a benchmark."""
    from django.test.utils import override_settings

    return override_settings(ROOT_URLCONF="bench.stock_urls")


def trash(rounds: int) -> Iterator[Result]:
    with stock_urls():
        yield from _trash(rounds)


def _trash(rounds: int) -> Iterator[Result]:
    manager, platform = bench_manager(), bench_platform()
    as_manager, as_platform = client_for(manager), client_for(platform)
    stock = stock_changelist(as_platform)
    stock_org = stock_changelist(as_platform, {"organization__id__exact": str(manager.organization_id)})
    url = "/dashboard/trash/"
    yield compare(
        "trash first page, organization",
        lambda: get_ok(as_manager, url),
        "stock admin deleted tickets (org)",
        stock_org,
        rounds,
    )
    yield compare(
        "trash first page, platform",
        lambda: get_ok(as_platform, url),
        "stock admin deleted tickets",
        stock,
        rounds,
    )
    # Deep pages: follow the "next" links 20 times, then time that page.
    from dashboard.trash import listing

    cursor = None
    for _ in range(20):
        page = listing.trash_list(platform, listing.TrashFilters(), cursor)
        cursor = listing.TrashCursor.decode(page.next_cursor)
    yield compare(
        "trash page 21, platform",
        lambda: get_ok(as_platform, url, {"after": cursor.encode()}),
        "stock admin deleted tickets, page 21",
        stock_changelist(as_platform, {"p": "21"}),
        rounds,
    )
    # Search within the manager's organization: a ticket number, a person's email.
    number = (
        Ticket.all_objects.filter(organization=manager.organization, deleted_at__isnull=False)
        .values_list("ticket_number", flat=True)
        .first()
    )
    customer = (
        User.all_objects.filter(organization=manager.organization, role="customer").order_by("pk").first()
    )
    for label, term in [
        ("ticket number", f"#{number}"),
        ("email", customer.email[:12]),
        ("subject", "refund"),
    ]:
        try:
            yield compare(
                f"trash search by {label}, organization",
                lambda t=term: get_ok(as_manager, url, {"q": t}),
                "stock admin deleted tickets (org)",
                stock_org,
                rounds,
            )
        except PageRefused as refused:
            print(f"  trash search by {label}: refused ({refused})")
    agent = User.all_objects.filter(organization__slug="bench-3", role="agent").order_by("pk").first()
    big = Organization.all_objects.get(slug="bench-1")
    day = (timezone.localdate() - datetime.timedelta(days=20)).isoformat()  # inside the dataset's 60 days
    filters = [
        ("deleted by one agent", {"deleted_by": agent.pk}),
        ("one organization", {"organization": manager.organization_id}),
        ("big organization", {"organization": big.pk}),
        ("comments incl. cascaded", {"model": "models_core.ticketcomment", "include_cascaded": "on"}),
        ("reason contains", {"reason": "spam"}),
        ("purging within 7 days", {"purging_soon": "on"}),
        ("one deletion day", {"deleted_from": day, "deleted_to": day}),
    ]
    for label, query in filters:
        try:
            yield compare(
                f"trash, platform, {label}",
                lambda q=query: get_ok(as_platform, url, q),
                "stock admin deleted tickets",
                stock,
                rounds,
            )
        except PageRefused as refused:
            print(f"  trash, platform, {label}: refused ({refused})")


RESTORE_TABLES = [
    "organization", "ticket", "ticketcomment", "ticketattachment", "user", "knowledgebasearticle",
]  # fmt: skip


def _autovacuum(enabled: bool) -> None:
    with connection.cursor() as cursor:
        for table in RESTORE_TABLES:
            value = "true" if enabled else "false"
            cursor.execute(f"ALTER TABLE models_core_{table} SET (autovacuum_enabled = {value})")


def _raw_delete(org_id: int, user_id: int) -> str:
    """The soft delete of an organization as plain UPDATEs (the same columns), committed; its batch id."""
    batch = str(uuid.uuid4())
    metadata = '\'{"was_active": true, "root": "models_core.Organization", "cascaded": true}\'::jsonb'
    trash = (
        f"deleted_at = now(), is_active = false, deletion_batch = %s, deleted_by_id = %s, "
        f"delete_reason = 'bench', deletion_metadata = {metadata}, "
        "auto_delete_at = now() + interval '30 days'"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE models_core_organization SET {trash} WHERE id = %s", [batch, user_id, org_id])
        for table in ["ticket", "user", "knowledgebasearticle"]:
            cursor.execute(
                f"UPDATE models_core_{table} SET {trash} WHERE deleted_at IS NULL AND organization_id = %s",
                [batch, user_id, org_id],
            )
        for table in ["ticketcomment", "ticketattachment"]:
            cursor.execute(
                f"UPDATE models_core_{table} SET {trash} WHERE deleted_at IS NULL AND ticket_id IN "
                "(SELECT id FROM models_core_ticket WHERE deletion_batch = %s)",
                [batch, user_id, batch],
            )
    return batch


def _raw_restore(batch: str) -> None:
    """A batch's restore as plain UPDATEs (the columns the restore writes), committed."""
    back = (
        "deleted_at = NULL, is_active = COALESCE((deletion_metadata ->> 'was_active')::boolean, true), "
        "deletion_batch = NULL, deleted_by_id = NULL, delete_reason = '', auto_delete_at = NULL, "
        'deletion_metadata = \'{"restored_at": "bench"}\'::jsonb'
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for table in reversed(RESTORE_TABLES):
            cursor.execute(
                f"UPDATE models_core_{table} SET {back} WHERE deletion_batch = %s AND deleted_at IS NOT NULL",
                [batch],
            )


def _raw_batch_counts(batch: str) -> None:
    """The floor of a restore plan: counting the batch's rows of every table."""
    union = " UNION ALL ".join(
        f"SELECT count(*) FROM models_core_{t} WHERE deletion_batch = %s AND deleted_at IS NOT NULL"
        for t in RESTORE_TABLES
    )
    raw(union, [batch] * len(RESTORE_TABLES))


def restore(rounds: int) -> Iterator[Result]:
    """The big organization (10% of the tickets) soft-deleted, then at once its restore plan page and its
    restore; against the same delete and restore as plain UPDATEs, in alternating order. Autovacuum is off
    on these tables meanwhile, so no autoanalyze can give the planner statistics for the new batch: this is
    the "right after a big delete" case however long a step takes. Long, so max(rounds // 3, 1) rounds."""
    from django.db.models import Count

    from models_core.restore import batch_restore

    platform = bench_platform()
    as_platform = client_for(platform)
    big = Organization.all_objects.get(slug="bench-1")
    if big.deleted_at is not None:  # an interrupted earlier run
        batch_restore(big.deletion_batch, user=platform)
    size = Ticket.objects.filter(organization=big).aggregate(n=Count("pk"))["n"]
    print(f"  (restore benchmark: organization of {size:,} live tickets)", flush=True)
    ours: dict[str, list[float]] = {"delete": [], "plan": [], "restore": []}
    theirs: dict[str, list[float]] = {"delete": [], "plan": [], "restore": []}
    queries: dict[str, int] = {}
    from django.test.utils import CaptureQueriesContext

    def run_ours() -> None:
        big.refresh_from_db()
        ours["delete"].append(timed_once(lambda: big.soft_delete(user=platform, reason="bench")))
        big.refresh_from_db()
        url = f"/dashboard/trash/restore/?items=models_core.organization:{big.pk}"
        with CaptureQueriesContext(connection) as captured:
            ours["plan"].append(timed_once(lambda: get_ok(as_platform, url)))
        queries["plan"] = len(captured)
        with CaptureQueriesContext(connection) as captured:
            ours["restore"].append(timed_once(lambda: batch_restore(big.deletion_batch, user=platform)))
        queries["restore"] = len(captured)

    def run_raw() -> None:
        batch: list[str] = []
        theirs["delete"].append(timed_once(lambda: batch.append(_raw_delete(big.pk, platform.pk))))
        theirs["plan"].append(timed_once(lambda: _raw_batch_counts(batch[0])))
        theirs["restore"].append(timed_once(lambda: _raw_restore(batch[0])))

    _autovacuum(False)
    try:
        for i in range(max(rounds // 3, 1)):
            for step in (run_ours, run_raw) if i % 2 == 0 else (run_raw, run_ours):
                step()
    finally:
        _autovacuum(True)
    median = statistics.median
    yield Result(
        "soft delete of the big organization",
        median(ours["delete"]),
        "raw UPDATEs of the same rows",
        median(theirs["delete"]),
    )
    yield Result(
        "restore plan page right after it",
        median(ours["plan"]),
        "raw count of the batch per table",
        median(theirs["plan"]),
        queries["plan"],
    )
    yield Result(
        "restore right after it",
        median(ours["restore"]),
        "raw UPDATEs of the batch",
        median(theirs["restore"]),
        queries["restore"],
    )


def timed_once(fn) -> float:
    from bench.run import timed

    return timed(fn)


def changelists(rounds: int) -> Iterator[Result]:
    manager, platform = bench_manager(), bench_platform()
    as_manager, as_platform = client_for(manager), client_for(platform)
    org = manager.organization_id
    yield compare(
        "ticket changelist ?q=crashes",
        lambda: get_ok(as_platform, "/models_core/ticket/?q=crashes"),
        "raw ILIKE LIMIT 50",
        lambda: raw(
            "SELECT id FROM models_core_ticket WHERE deleted_at IS NULL AND (subject ILIKE %s OR "
            "description ILIKE %s) ORDER BY id DESC LIMIT 51",
            ["%crashes%", "%crashes%"],
        ),
        rounds,
    )
    yield compare(
        "comment changelist",
        lambda: get_ok(as_platform, "/models_core/ticketcomment/"),
        "raw ordered LIMIT 50",
        lambda: raw(
            "SELECT id FROM models_core_ticketcomment WHERE deleted_at IS NULL "
            "ORDER BY created_at, id LIMIT 51"
        ),
        rounds,
    )
    yield compare(
        "ticket changelist, org-bound manager",
        lambda: get_ok(as_manager, "/models_core/ticket/"),
        "raw org LIMIT 50",
        lambda: raw(
            "SELECT id FROM models_core_ticket WHERE deleted_at IS NULL AND organization_id = %s "
            "ORDER BY id DESC LIMIT 51",
            [org],
        ),
        rounds,
    )
    yield compare(
        "ticket changelist ?organization__id__exact=",
        lambda: get_ok(as_platform, f"/models_core/ticket/?organization__id__exact={org}"),
        "raw org LIMIT 50",
        lambda: raw(
            "SELECT id FROM models_core_ticket WHERE deleted_at IS NULL AND organization_id = %s "
            "ORDER BY id DESC LIMIT 51",
            [org],
        ),
        rounds,
    )


def exports(rounds: int) -> Iterator[Result]:
    """The trash CSV export of an organization (every row it may see, up to the export cap)."""
    manager = bench_manager()
    as_manager = client_for(manager)
    tables = ["ticket", "user", "knowledgebasearticle"]
    union = " UNION ALL ".join(
        f"SELECT id, deleted_at FROM models_core_{t} WHERE deleted_at IS NOT NULL AND organization_id = %s"
        for t in tables
    )
    yield compare(
        "trash CSV export, organization",
        lambda: get_ok(as_manager, "/dashboard/exports/trash/", {"format": "csv"}),
        "raw SELECT of the same rows",
        lambda: raw(f"SELECT * FROM ({union}) s ORDER BY deleted_at DESC", [manager.organization_id] * 3),
        max(rounds // 2, 1),
    )


def validation(rounds: int) -> Iterator[Result]:
    """Rule pages of a rule nothing breaks: after a scan, against the raw count of the rule's predicate."""
    from dashboard.validation import services

    platform = bench_platform()
    as_platform = client_for(platform)
    services.validation_scan_run(services.validation_scan_create(None).pk)
    from django.apps import apps

    from models_core.validation import validator

    for model_name, rule_name in [("ticket", "status_choice"), ("ticketcomment", "ticket_live")]:
        model = apps.get_model("models_core", model_name)
        rule = next(r for r in validator.rules_for(model) if r.name == rule_name)
        yield compare(
            f"validation rule page {model_name}/{rule_name}",
            lambda m=model_name, r=rule_name: get_ok(as_platform, f"/dashboard/validation/rules/{m}/{r}/"),
            "raw count of the rule's predicate",
            lambda m=model, r=rule: services.live_rows(m).filter(r.violation_q()).count(),
            rounds,
        )


def manager_pages(org: Organization) -> list[tuple[str, str]]:
    """(name, path) of the main pages a Support manager of `org` works with (issue 15's list)."""
    live = Ticket.objects.filter(organization=org).order_by("-pk").values_list("pk", flat=True)[0]
    trashed = Ticket.all_objects.filter(organization=org, deleted_at__isnull=False)
    trashed_pk, number = trashed.order_by("-pk").values_list("pk", "ticket_number")[0]
    return [
        ("home", "/"),
        ("trash", "/dashboard/trash/"),
        ("trash search by number", f"/dashboard/trash/?q={number}"),
        ("restore plan", f"/dashboard/trash/restore/?items=models_core.ticket:{trashed_pk}"),
        ("validation", "/dashboard/validation/"),
        ("ticket changelist", "/models_core/ticket/"),
        ("ticket search", "/models_core/ticket/?q=crashes"),
        ("ticket change page", f"/models_core/ticket/{live}/change/"),
    ]


def platform_pages() -> list[tuple[str, str]]:
    """(name, path) of the main pages platform staff work with."""
    org = Organization.all_objects.order_by("pk")[1]
    trashed_pk = (
        Ticket.all_objects.filter(deleted_at__isnull=False).order_by("pk").values_list("pk", flat=True)[0]
    )
    return [
        ("home", "/"),
        ("trash (platform)", "/dashboard/trash/"),
        ("purge preview", f"/dashboard/trash/purge/?items=models_core.ticket:{trashed_pk}"),
        ("hooks", "/dashboard/hooks/"),
        ("DB health indexes", "/dashboard/dbhealth/indexes/"),
        ("validation", "/dashboard/validation/"),
        ("ticket changelist by organization", f"/models_core/ticket/?organization__id__exact={org.pk}"),
        ("comment changelist", "/models_core/ticketcomment/"),
    ]


FLOOR_URL = "/password_change/"


def main_pages(rounds: int) -> Iterator[Result]:
    """Every main page of both roles against the floor: the password change form through the same client
    (middleware, session, user, the console's layout; no data). Goal 4: <= 100 ms each at 10M."""
    manager, platform = bench_manager(), bench_platform()
    for role, user, paths in [
        ("manager", manager, manager_pages(manager.organization)),
        ("platform", platform, platform_pages()),
    ]:
        client = client_for(user)
        for name, path in paths:
            try:
                yield compare(
                    f"{name} ({role})",
                    lambda c=client, p=path: get_ok(c, p),
                    "password change form (floor)",
                    lambda c=client: get_ok(c, FLOOR_URL),
                    rounds,
                )
            except PageRefused as refused:
                print(f"  {name} ({role}): refused ({refused})")


BENCHMARKS = [trash, main_pages, changelists, exports, validation, restore]
