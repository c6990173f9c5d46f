"""Fixtures shared by every test: organizations and staff users in the three groups."""

import importlib
import warnings
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection

from models_core.hooks import registry as hook_registry
from tests.conditions import wait_until
from tests.factories import OrganizationFactory, UserFactory

# Our plugins, each with a terminal summary: the skipped-browser warning, the random order's replay line.
pytest_plugins = ["tests.browser_skips", "tests.random_order"]

GROUP_NAMES = ("Support managers", "Admins", "DBAs")


def ensure_staff_groups() -> None:
    """Re-create the groups with the data migration's own code.

    Transactional tests (browser, worker) flush every table, groups included; the migrations' functions are
    idempotent, so running them again gives exactly what a migrated database has.
    """
    schema_editor = SimpleNamespace(connection=connection)
    importlib.import_module("dashboard.migrations.0002_staff_groups").create_groups(apps, schema_editor)
    # Their rights on the helpdesk models (view for managers, manage for admins) come from 0003.
    importlib.import_module("dashboard.migrations.0003_helpdesk_model_permissions").grant(apps, schema_editor)


OTHER_SESSIONS = (
    "SELECT pid, application_name, state, backend_start, left(query, 200) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.fixture(scope="session", autouse=True)
def test_database_released(django_db_setup, django_db_blocker):
    """At the end of the session nobody else is connected to the test database when pytest-django drops it.

    A process a test stopped (a worker, a server) can still be exiting then; the drop fails ("is being
    accessed by other users", seen once in a soak) and the database is left for the next session. Wait for
    such sessions to go; one still there after the bound is named in a warning and terminated.
    """
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:

        def others() -> list[tuple]:
            cursor.execute(OTHER_SESSIONS)
            return cursor.fetchall()

        try:
            wait_until(lambda: not others(), timeout=15, what="other sessions to leave the test database")
        except AssertionError:
            warnings.warn(f"Sessions left on the test database, terminated: {others()}", stacklevel=1)
            cursor.execute(f"SELECT pg_terminate_backend(pid) FROM ({OTHER_SESSIONS}) AS s")


@pytest.fixture(autouse=True)
def fresh_storages(settings):
    """Every test starts with empty storages: the test settings keep files in memory, and one process-wide
    InMemoryStorage would otherwise hand each test the files of the tests before it.

    Setting STORAGES (even to its own value) makes Django drop the storage instances it holds.
    """
    settings.STORAGES = {**settings.STORAGES}


def queued_jobs_clear() -> None:
    """Empty procrastinate's tables: they are not Django models, so a transactional test's flush leaves the
    jobs it queued, and the next worker pass (another test's) would run them first."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_periodic_defers")
        cursor.execute("DELETE FROM procrastinate_jobs")
        cursor.execute("DELETE FROM procrastinate_workers")


@pytest.fixture(autouse=True)
def queued_jobs_cleared(request, django_db_blocker):
    """After a test whose writes are committed (transactional_db, live_server), none of its jobs is queued."""
    yield
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or (
        marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    )
    if transactional:
        with django_db_blocker.unblock():
            queued_jobs_clear()


@pytest.fixture
def recorded_violations(db, settings):
    """Record constraint violations during this test, starting from none and leaving none.

    The recorder commits through its own connection, outside the test's transaction, so the test settings
    turn it off: a record would outlive the rollback and land in the next test that reads violations.
    """
    from dashboard.dbhealth.models import ConstraintViolation
    from dashboard.sidedb import side_connection

    def delete_all() -> None:
        with side_connection() as conn:
            conn.execute(f'DELETE FROM "{ConstraintViolation._meta.db_table}"')

    settings.CUSTODIAN_DBHEALTH_RECORD_VIOLATIONS = True
    delete_all()
    yield
    delete_all()


@pytest.fixture
def staff_groups(db) -> dict[str, Group]:
    if Group.objects.filter(name__in=GROUP_NAMES).count() != len(GROUP_NAMES):
        ensure_staff_groups()
    return {group.name: group for group in Group.objects.filter(name__in=GROUP_NAMES)}


@pytest.fixture
def organization(db):
    return OrganizationFactory(name="Acme Support", slug="acme")


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(name="Globex", slug="globex")


@pytest.fixture
def make_staff(db, staff_groups, organization):
    """make_staff("Support managers") -> a staff user in that group, bound to `organization`.

    Pass organization=None for platform staff, group=None for staff in no group.
    """

    def make(group: str | None = None, organization=organization, **kwargs):
        user = UserFactory(is_staff=True, organization=organization, **kwargs)
        if group:
            user.groups.add(staff_groups[group])
        return user

    return make


@pytest.fixture
def manager(make_staff):
    return make_staff("Support managers", username="manager", role="manager")


@pytest.fixture
def org_admin(make_staff):
    return make_staff("Admins", username="orgadmin", role="admin")


@pytest.fixture
def dba(make_staff):
    return make_staff("DBAs", organization=None, username="dba", role="admin")


@pytest.fixture
def platform_superuser(make_staff):
    return make_staff(None, organization=None, username="platform", is_superuser=True, role="admin")


# Shared by the registry's own tests (tests/models_core) and the hooks page's (tests/dashboard/hooks).
@pytest.fixture
def hooks():
    """hooks(type, model, func, **options) registers a hook for this test only."""
    registered = []

    def register(hook_type, model, func, **options):
        options.setdefault("on_error", "raise")
        hook = hook_registry.register_hook(hook_type, model, func, **options)
        registered.append(hook)
        return hook

    yield register
    for hook in registered:
        hook_registry.unregister(hook)
