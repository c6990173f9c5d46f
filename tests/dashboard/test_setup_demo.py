import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from models_core.models import Organization

pytestmark = pytest.mark.django_db

EXPECTED = {
    # username: (groups, organization slug, superuser)
    "manager": (["Support managers"], "acme-support", False),
    "admin": (["Admins"], "acme-support", False),
    "dba": (["DBAs"], None, False),
    "platform": ([], None, True),
}


def run(*args) -> str:
    out = StringIO()
    call_command("setup_demo", "--force", *args, stdout=out)
    return out.getvalue()


def printed_passwords(output: str) -> dict[str, str]:
    rows = re.findall(r"^(manager|admin|dba|platform)\s+(\S+)\s", output, re.M)
    return dict(rows)


def test_creates_organization_and_one_user_per_group(staff_groups):
    output = run("--url", "http://127.0.0.1:8101/")
    assert "http://127.0.0.1:8101/" in output
    assert Organization.objects.get(slug="acme-support").name == "Acme Support"
    passwords = printed_passwords(output)
    assert set(passwords) == set(EXPECTED)
    for username, (groups, org_slug, superuser) in EXPECTED.items():
        user = get_user_model().objects.get(username=username)
        assert user.is_staff and user.is_active
        assert user.is_superuser is superuser
        assert sorted(user.groups.values_list("name", flat=True)) == groups
        assert (user.organization.slug if user.organization else None) == org_slug
        assert user.check_password(passwords[username])


def test_rerunning_resets_passwords_without_duplicates(staff_groups):
    first = printed_passwords(run())
    User = get_user_model()
    users_before = User.objects.count()
    # Someone moved the demo manager elsewhere and took its group away: a re-run puts it back.
    manager = User.objects.get(username="manager")
    manager.organization = Organization.objects.create(name="Elsewhere", slug="elsewhere")
    manager.save()
    manager.groups.clear()

    second = printed_passwords(run())
    assert User.objects.count() == users_before
    assert Organization.objects.filter(slug="acme-support").count() == 1
    assert first["manager"] != second["manager"]
    manager.refresh_from_db()
    assert manager.check_password(second["manager"])
    assert not manager.check_password(first["manager"])
    assert manager.organization.slug == "acme-support"
    assert list(manager.groups.values_list("name", flat=True)) == ["Support managers"]


def test_fixed_password_option(staff_groups):
    output = run("--password", "demo-pass-123")
    assert set(printed_passwords(output).values()) == {"demo-pass-123"}


def test_refuses_with_debug_off_unless_forced(staff_groups, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("setup_demo", stdout=StringIO())
    assert not get_user_model().objects.filter(username="platform").exists()


def test_missing_groups_is_a_clear_error(staff_groups):
    staff_groups["DBAs"].delete()
    with pytest.raises(CommandError, match="is missing: run"):
        run()
    # All or nothing: the users before the failing one were rolled back.
    assert not get_user_model().objects.filter(username="manager").exists()


def test_seeds_once_and_binds_demo_staff_to_the_seeded_tenant(staff_groups):
    from models_core.models import Ticket

    output = run()
    assert output.strip().startswith("Custodian demo sign-ins")
    manager = get_user_model().objects.get(username="manager")
    # The demo manager signs in to an organization that has data, not an empty one.
    assert Ticket.objects.filter(organization=manager.organization).exists()
    assert manager.organization.settings.get("demo_seed", {}).get("role") == "tenant"
    tickets = Ticket.all_objects.count()
    run()
    assert Ticket.all_objects.count() == tickets  # a second run does not seed again


def test_no_seed_leaves_the_database_without_tickets(staff_groups):
    from models_core.models import Ticket

    run("--no-seed")
    assert not Ticket.all_objects.exists()


def test_seeded_staff_accounts_are_in_their_roles_group(staff_groups):
    run()
    User = get_user_model()
    seeded_staff = User.objects.filter(is_staff=True, username__regex=r"-(admin|manager)-\d+$")
    assert seeded_staff.exists()
    for user in seeded_staff:
        expected = "Admins" if user.role == "admin" else "Support managers"
        assert list(user.groups.values_list("name", flat=True)) == [expected], user.username
