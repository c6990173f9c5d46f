"""Every declared index and constraint exists in PostgreSQL with the definition it was declared with."""

import pytest
from django.db import connection

from models_core.models import Ticket, User, UserPermission, UserSession
from models_core.tenancy import ORGANIZATION_ITSELF, organization_path
from models_core.trashing import soft_delete_models

pytestmark = pytest.mark.django_db

MODELS = [*soft_delete_models(), UserSession, UserPermission]


def index_definitions() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename LIKE 'models_core_%%'")
        return dict(cursor.fetchall())


def constraint_definitions() -> dict[str, tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid::regclass::text LIKE 'models_core_%%'"
        )
        return {name: (kind, definition) for name, kind, definition in cursor.fetchall()}


def test_extensions_are_installed():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension")
        names = {row[0] for row in cursor.fetchall()}
    assert {"pg_trgm", "btree_gin", "btree_gist"} <= names


def test_every_declared_index_exists_and_names_fit_django():
    found = index_definitions()
    for model in MODELS:
        for index in model._meta.indexes:
            assert index.name in found, index.name
            assert len(index.name) <= 30, index.name


def test_every_declared_constraint_exists():
    found = constraint_definitions()
    indexes = index_definitions()
    for model in MODELS:
        for c in model._meta.constraints:
            # Partial unique constraints are unique indexes in PostgreSQL.
            assert c.name in found or c.name in indexes, c.name


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("idx_ticket_org_status", ["btree (organization_id, status)"]),
        ("idx_ticket_org_priority_status", ["btree (organization_id, priority, status)"]),
        ("idx_ticket_org_agent_status", ["btree (organization_id, assigned_agent_id, status)"]),
        (
            "idx_ticket_active_org_agent",
            ["btree (organization_id, assigned_agent_id) WHERE", "'new'", "'open'", "'pending'"],
        ),
        ("idx_ticket_search_gin", ["USING gin (subject gin_trgm_ops, description gin_trgm_ops)"]),
        ("idx_comment_search_gin", ["USING gin (content gin_trgm_ops)"]),
        ("idx_kb_search_gin", ["USING gin (title gin_trgm_ops, content gin_trgm_ops)"]),
        ("idx_ticket_tags_gin", ["USING gin (tags)"]),
        ("idx_ticket_custom_fields_gin", ["USING gin (custom_fields)"]),
        ("idx_user_skills_gin", ["USING gin (skills)"]),
        ("idx_user_certifications_gin", ["USING gin (certifications)"]),
        ("idx_org_settings_gin", ["USING gin (settings)"]),
        ("idx_user_org_active", ["btree (organization_id, is_active)"]),
        ("idx_user_role_availability", ["btree (role, availability_status)"]),
        (
            "idx_ticket_trash",
            ["btree (organization_id, deleted_at DESC, id DESC) WHERE (deleted_at IS NOT NULL)"],
        ),
        (
            "idx_comment_trash",
            ["btree (organization_id, deleted_at DESC, id DESC) WHERE (deleted_at IS NOT NULL)"],
        ),
        ("idx_comment_trash_all", ["btree (deleted_at DESC, id DESC) WHERE (deleted_at IS NOT NULL)"]),
        (
            "idx_comment_roots",
            [
                "btree (organization_id, deleted_at DESC, id DESC) WHERE ((deleted_at IS NOT NULL) AND "
                """(NOT (deletion_metadata @> '{"cascaded": true}'::jsonb)))"""
            ],
        ),
        ("idx_user_search_gin", ["USING gin (username gin_trgm_ops, email gin_trgm_ops,"]),
        ("idx_ticket_trash_search", ["USING gin (subject gin_trgm_ops) WHERE (deleted_at IS NOT NULL)"]),
        ("idx_org_batch", ["btree (deletion_batch) WHERE (deletion_batch IS NOT NULL)"]),
        ("idx_attachment_purge_due", ["btree (auto_delete_at, id) WHERE (deleted_at IS NOT NULL)"]),
        (
            "idx_ticket_roots_due",
            [
                "btree (organization_id, auto_delete_at, id) WHERE ((deleted_at IS NOT NULL) AND "
                """(NOT (deletion_metadata @> '{"cascaded": true}'::jsonb)))"""
            ],
        ),
        ("unique_org_ticket_number", ["UNIQUE INDEX", "(organization_id, ticket_number)"]),
        ("unique_org_slug", ["UNIQUE INDEX", "(organization_id, slug) WHERE (deleted_at IS NULL)"]),
        ("unique_organization_slug", ["UNIQUE INDEX", "(slug) WHERE (deleted_at IS NULL)"]),
        ("unique_user_email_live", ["UNIQUE INDEX", "(lower((email)::text))", "deleted_at IS NULL"]),
        ("unique_user_permission", ["UNIQUE INDEX", "(user_id, permission)"]),
        ("exclude_duplicate_active_sessions", ["UNIQUE INDEX", "(user_id, session_key) WHERE is_active"]),
        ("exclude_overlapping_sla_policies", ["USING gist (organization_id, priority, validity) WHERE"]),
    ],
)
def test_index_definition(name, fragments):
    definition = index_definitions()[name]
    for fragment in fragments:
        assert fragment in definition, definition


def test_every_soft_delete_model_has_its_trash_indexes():
    found = index_definitions()
    for model in soft_delete_models():
        table = model._meta.db_table
        mine = [d for d in found.values() if f".{table} " in d]
        trash = [d for d in mine if "WHERE (deleted_at IS NOT NULL)" in d and "btree" in d]
        roots = [d for d in mine if "cascaded" in d]
        batch = [d for d in mine if "WHERE (deletion_batch IS NOT NULL)" in d]
        scoped = organization_path(model) != ORGANIZATION_ITSELF
        # Listings in deletion order and in purge order (all and per organization; roots only and with what
        # went along; per deleter in deletion order), batch (and its roots).
        assert len(trash) == (4 if scoped else 2) and len(batch) == 1, table
        assert len(roots) == (6 if scoped else 4), table


def test_exclusion_constraint_uses_overlap_on_the_validity_range():
    kind, definition = constraint_definitions()["exclude_overlapping_sla_policies"]
    assert kind == "x"
    assert "organization_id WITH =" in definition and "validity WITH &&" in definition
    assert "is_active" in definition and "deleted_at IS NULL" in definition


@pytest.mark.parametrize(
    ("model", "column"),
    [(Ticket, "organization_id"), (User, "organization_id"), (UserPermission, "user_id")],
)
def test_no_single_column_fk_index_where_a_composite_one_leads_with_it(model, column):
    table = model._meta.db_table
    single = [
        d for d in index_definitions().values() if f".{table} " in d and d.endswith(f"btree ({column})")
    ]
    assert single == []


def test_foreign_keys_used_by_cascades_keep_an_index():
    definitions = index_definitions().values()
    for table, column in [
        ("models_core_ticketcomment", "ticket_id"),
        ("models_core_ticketattachment", "ticket_id"),
        ("models_core_ticketattachment", "comment_id"),
        ("models_core_usersession", "user_id"),
        ("models_core_knowledgebasearticle", "organization_id"),
        ("models_core_slapolicy", "organization_id"),
    ]:
        assert any(f".{table} " in d and f"btree ({column})" in d for d in definitions), (table, column)
