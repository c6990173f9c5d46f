"""Give the staff groups their rights on the helpdesk's own models in the normal admin.

Support managers look at the data they repair (view only); Admins manage it (add, change, delete: a delete
moves the row to the trash); DBAs get none, since DB health pages show no customer content.
Frozen on purpose, like 0002: later changes take a new migration.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

HELPDESK_MODELS = [
    "organization",
    "user",
    "ticket",
    "ticketcomment",
    "ticketattachment",
    "knowledgebasearticle",
    "slapolicy",
    "usersession",
    "userpermission",
]
ACTIONS = {
    "Support managers": ["view"],
    "Admins": ["view", "add", "change", "delete"],
}


def grant(apps, schema_editor):
    create_permissions(global_apps.get_app_config("models_core"), apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    for name, actions in ACTIONS.items():
        group = Group.objects.using(db).get(name=name)
        codenames = [f"{action}_{model}" for model in HELPDESK_MODELS for action in actions]
        permissions = Permission.objects.using(db).filter(
            content_type__app_label="models_core", codename__in=codenames
        )
        if permissions.count() != len(codenames):
            raise RuntimeError(f"Missing models_core permissions for group {name!r}")
        group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    permissions = Permission.objects.using(db).filter(content_type__app_label="models_core")
    for group in Group.objects.using(db).filter(name__in=ACTIONS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0002_staff_groups"),
        ("models_core", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
