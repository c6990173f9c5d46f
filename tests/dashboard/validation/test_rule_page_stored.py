"""Rule pages read the latest scan's stored violations: no pass of the rule over the whole table per page
view (seconds at 10M rows, longest exactly when nothing fails)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.validation import selectors
from models_core.models import Ticket
from models_core.validation import validator
from tests.dashboard.validation.test_views import SUBJECT, scan

pytestmark = pytest.mark.django_db


def _rule(name: str):
    return next(r for r in validator.rules_for(Ticket) if r.name == name)


def test_the_rule_page_asks_only_the_stored_ids(client, manager, legacy_rows):
    scan()
    client.force_login(manager)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(SUBJECT)
    assert {row.obj.pk for row in page.context["rows"]} == {t.pk for t in legacy_rows["blank"]}
    listing = [q["sql"] for q in captured if 'FROM "models_core_ticket"' in q["sql"] and "LIMIT" in q["sql"]]
    assert listing and all("validation_violation" in sql for sql in listing)


def test_fixed_rows_leave_at_once_new_ones_wait_for_the_next_scan(manager, legacy_rows):
    rule = _rule("subject_required")
    scan()
    fixed, still = legacy_rows["blank"]
    Ticket.objects.filter(pk=fixed.pk).update(subject="Fixed now")
    Ticket.objects.filter(pk=legacy_rows["fine"].pk).update(subject="")
    ids = set(selectors.failing_rows_queryset(Ticket, rule, manager).values_list("pk", flat=True))
    assert ids == {still.pk}
    scan()
    ids = set(selectors.failing_rows_queryset(Ticket, rule, manager).values_list("pk", flat=True))
    assert ids == {still.pk, legacy_rows["fine"].pk}


def test_before_any_scan_the_page_is_empty_not_a_table_scan(manager, legacy_rows):
    with CaptureQueriesContext(connection) as captured:
        rows = list(selectors.failing_rows_queryset(Ticket, _rule("subject_required"), manager))
    assert rows == []
    assert not [q for q in captured if 'FROM "models_core_ticket"' in q["sql"]]


def test_a_scan_counts_first_and_writes_only_for_rules_that_fail(legacy_rows):
    from dashboard.validation import services

    rules = [r for r in validator.rules_for(Ticket) if r.has_query]
    scan_row = services.validation_scan_create(None)
    with CaptureQueriesContext(connection) as captured:
        for rule in rules:
            services._rule_scan(scan_row, Ticket, rule)
    inserts = [q["sql"] for q in captured if q["sql"].startswith("INSERT INTO validation_violation")]
    failing = {r.name for r in rules if services.live_rows(Ticket).filter(r.violation_q()).exists()}
    assert failing and len(inserts) == len(failing) < len(rules)
