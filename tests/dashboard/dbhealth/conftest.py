"""Fixtures of the index advisor's tests."""

import pytest

from tests.dashboard.dbhealth.advisor_data import sql
from tests.factories import OrganizationFactory, UserFactory


@pytest.fixture
def tickets():
    """The index advisor's tests: 6,000 tickets over four organizations, a tenth in the trash, with fresh
    statistics (committed: the advisor reads through its own connection)."""
    orgs = [OrganizationFactory() for _ in range(4)]
    customer = UserFactory(organization=orgs[0])
    sql(
        """
        INSERT INTO models_core_ticket (is_active, deleted_at, delete_reason, deletion_metadata,
            can_be_restored, ticket_number, subject, description, status, priority, tags, custom_fields,
            sla_breach, created_at, updated_at, customer_id, organization_id)
        SELECT g %% 10 <> 0, CASE WHEN g %% 10 = 0 THEN now() - g * interval '1 minute' END, '', '{}', true,
            g, 'Subject ' || md5(g::text), 'Description', 'open', 'low', '[]', '{}', false,
            now(), now(), %s, (ARRAY[%s, %s, %s, %s])[1 + g %% 4]
        FROM generate_series(1, 6000) AS g
        """,
        [customer.pk, *[o.pk for o in orgs]],
    )
    sql("ANALYZE models_core_ticket")
    return orgs


@pytest.fixture
def without_index():
    """Drop one of the project's own indexes for the test, and build it again afterwards."""
    dropped: list[str] = []

    def drop(name: str) -> str:
        definition = sql("SELECT pg_get_indexdef(%s::regclass)", [name])[0][0]
        sql(f"DROP INDEX {name}")
        dropped.append(definition)
        return definition

    yield drop
    for definition in dropped:
        sql(definition)
