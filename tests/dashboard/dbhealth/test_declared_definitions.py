"""Declared definitions are computed at migrate time (or by a deployment command), never by a page.

Rebuilding Django's statements to let PostgreSQL normalise them needs DDL (temporary tables), which the web
process's role may not be allowed on a production database: the page only reads what migrate stored.
"""

import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboard.dbhealth import declarations, selectors
from dashboard.dbhealth.models import DeclaredIndexDefinition

pytestmark = pytest.mark.django_db

DDL = re.compile(r"^\s*(CREATE|ALTER|DROP|TRUNCATE)\b|\bTEMP(ORARY)?\s+TABLE\b", re.IGNORECASE)


def _forget_process_caches() -> None:
    # A fresh web process: nothing computed in this one yet.
    for name in ("declared_definitions", "declared_indexes"):
        cached = getattr(declarations, name, None)
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()


def test_the_index_page_runs_no_ddl_and_still_checks_drift(client, dba):
    _forget_process_caches()
    client.force_login(dba)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("dashboard:dbhealth:index_usage"))
    assert response.status_code == 200
    ddl = [q["sql"] for q in queries.captured_queries if DDL.search(q["sql"])]
    assert ddl == []
    indexes = {i.name: i for i in selectors.index_usage_list(selectors.window_for(30))}
    assert indexes["idx_ticket_org_status"].drift == "ok"
    assert "(organization_id, status)" in indexes["idx_ticket_org_status"].declared_definition


def test_migrate_stored_every_buildable_declared_definition():
    stored = {row.name: row for row in DeclaredIndexDefinition.objects.all()}
    assert stored["idx_ticket_org_status"].definition == "USING btree (organization_id, status)"
    assert stored["unique_org_ticket_number"].definition.startswith("UNIQUE USING btree")
    assert stored["idx_comment_search_gin"].definition == "USING gin (content gin_trgm_ops)"


def test_a_definition_stored_for_other_code_is_not_compared(client, dba):
    # A deployment whose code changed an index but did not migrate yet: the stored text is not trusted.
    DeclaredIndexDefinition.objects.filter(name="idx_ticket_org_status").update(
        statement_sha="0" * 64, definition="USING btree (status)"
    )
    indexes = {i.name: i for i in selectors.index_usage_list(selectors.window_for(30))}
    assert indexes["idx_ticket_org_status"].drift == "unchecked"
    assert indexes["idx_ticket_org_status"].declared_definition is None
    client.force_login(dba)
    content = client.get(reverse("dashboard:dbhealth:index_usage")).content.decode()
    assert "dbhealth_declarations" in content  # the page says how to compute them


def test_the_deployment_command_computes_them_again():
    DeclaredIndexDefinition.objects.all().delete()
    call_command("dbhealth_declarations")
    assert DeclaredIndexDefinition.objects.filter(name="idx_ticket_org_status").exists()
    indexes = {i.name: i for i in selectors.index_usage_list(selectors.window_for(30))}
    assert indexes["idx_ticket_org_status"].drift == "ok"
