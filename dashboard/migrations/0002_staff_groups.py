"""Create the three staff groups with their console permissions.

The group definitions are frozen here on purpose: a migration must keep meaning what it meant when it ran.
Changing a group's permissions later takes a new migration.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT_MANAGERS = ["view_trash", "restore_trash", "view_validation_report"]
GROUPS = {
    "Support managers": SUPPORT_MANAGERS,
    "Admins": [
        *SUPPORT_MANAGERS,
        "purge_trash",
        "manage_retention",
        "run_validation_scan",
        "view_hook_registry",
        "reset_hook_stats",
    ],
    "DBAs": ["view_dbhealth", "view_hook_registry", "reset_hook_stats"],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created by post_migrate, after every migration has run; create this
    # app's now so the groups can reference them on a fresh database.
    create_permissions(global_apps.get_app_config("dashboard"), apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.using(db).get_or_create(name=name)
        permissions = Permission.objects.using(db).filter(
            content_type__app_label="dashboard",
            content_type__model="custodianpermission",
            codename__in=codenames,
        )
        if permissions.count() != len(codenames):
            raise RuntimeError(f"Missing dashboard permissions for group {name!r}")
        group.permissions.set(permissions)


def delete_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
