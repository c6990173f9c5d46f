import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection

pytestmark = pytest.mark.django_db

migration = importlib.import_module("dashboard.migrations.0002_staff_groups")

EXPECTED = {
    "Support managers": {"view_trash", "restore_trash", "view_validation_report"},
    "Admins": {
        "view_trash",
        "restore_trash",
        "view_validation_report",
        "purge_trash",
        "manage_retention",
        "run_validation_scan",
        "view_hook_registry",
        "reset_hook_stats",
    },
    "DBAs": {"view_dbhealth", "view_hook_registry", "reset_hook_stats"},
}


def group_permissions() -> dict[str, set[str]]:
    return {
        group.name: {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.all()
            if p.content_type.app_label == "dashboard"
        }
        for group in Group.objects.filter(name__in=EXPECTED).prefetch_related("permissions__content_type")
    }


def expected_with_app_label() -> dict[str, set[str]]:
    return {name: {f"dashboard.{c}" for c in codenames} for name, codenames in EXPECTED.items()}


def test_migration_creates_the_three_groups_with_exact_permissions():
    assert group_permissions() == expected_with_app_label()


def test_migration_is_idempotent_and_repairs_drift():
    Group.objects.get(name="DBAs").permissions.clear()
    schema_editor = SimpleNamespace(connection=connection)
    migration.create_groups(apps, schema_editor)
    migration.create_groups(apps, schema_editor)
    assert Group.objects.filter(name__in=EXPECTED).count() == 3
    assert group_permissions() == expected_with_app_label()


def test_migration_reverse_removes_only_its_groups():
    Group.objects.create(name="Someone else's group")
    migration.delete_groups(apps, SimpleNamespace(connection=connection))
    assert set(Group.objects.values_list("name", flat=True)) == {"Someone else's group"}


def test_group_members_get_the_permissions(manager, dba):
    assert manager.has_perm("dashboard.restore_trash")
    assert not manager.has_perm("dashboard.purge_trash")
    assert dba.has_perm("dashboard.view_dbhealth")
    assert not dba.has_perm("dashboard.view_trash")


def test_helpdesk_model_rights_per_group(manager, dba):
    from tests.factories import UserFactory

    admin = UserFactory(is_staff=True, organization=manager.organization)
    admin.groups.add(Group.objects.get(name="Admins"))
    assert manager.has_perm("models_core.view_ticket")
    assert not manager.has_perm("models_core.delete_ticket")
    assert admin.has_perm("models_core.delete_ticket")
    assert admin.has_perm("models_core.change_user")
    # DBAs see no customer content.
    assert not dba.has_perm("models_core.view_ticket")
    assert not dba.has_perm("models_core.view_user")
