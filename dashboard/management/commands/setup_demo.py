"""`manage.py setup_demo`: the demo organization and one staff user per group, with fresh passwords.

Idempotent: re-running finds the same rows, resets the demo users' passwords and prints them again.
"""

import secrets
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from models_core.demo import demo_organizations
from models_core.models import Organization

# seed_demo's staff roles -> the console group each one works in.
SEEDED_ROLE_GROUPS = {"admin": "Admins", "manager": "Support managers"}

DEMO_ORGANIZATION = {"slug": "acme-support", "name": "Acme Support"}


@dataclass(frozen=True)
class DemoUser:
    username: str
    group: str | None  # None: a superuser, who needs no group
    bound_to_organization: bool
    role: str
    superuser: bool = False


DEMO_USERS = [
    DemoUser("manager", "Support managers", bound_to_organization=True, role="manager"),
    DemoUser("admin", "Admins", bound_to_organization=True, role="admin"),
    DemoUser("dba", "DBAs", bound_to_organization=False, role="admin"),
    DemoUser("platform", None, bound_to_organization=False, role="admin", superuser=True),
]


class Command(BaseCommand):
    help = "Create (or reset) the demo organization and demo staff users, and print their sign-ins."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="Where the site is served.")
        parser.add_argument(
            "--password", help="Use this password for every demo user instead of fresh random ones."
        )
        parser.add_argument(
            "--no-seed", action="store_true", help="Do not call seed_demo, even if it exists."
        )
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (demo users include a superuser)."
        )

    def handle(self, *args, url: str, password: str | None, no_seed: bool, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: this looks like production. setup_demo creates a superuser with a printed "
                "password; pass --force if you really want that here."
            )
        if password is not None:
            self.password_validate(password)
        # Seed first: the first seeded tenant is "Acme Support", which the demo staff are then bound to.
        if not no_seed:
            self.seed_if_empty()
        self.seeded_staff_groups_assign()
        rows = self.demo_users_reset(password)
        self.print_sign_ins(rows, url)

    def password_validate(self, password: str) -> None:
        """Django's password validators (AUTH_PASSWORD_VALIDATORS) for every demo account, before any write:
        a chosen password signs in to a superuser too."""
        User = get_user_model()
        for demo in DEMO_USERS:
            candidate = User(username=demo.username, email=f"{demo.username}@example.com")
            try:
                validate_password(password, user=candidate)
            except ValidationError as error:
                raise CommandError(
                    f"--password is refused for {demo.username}: {' '.join(error.messages)}"
                ) from None

    @transaction.atomic
    def demo_users_reset(self, password: str | None) -> list[tuple[str, str, str, str]]:
        organization, _ = Organization.objects.get_or_create(
            slug=DEMO_ORGANIZATION["slug"], defaults={"name": DEMO_ORGANIZATION["name"]}
        )
        User = get_user_model()
        rows = []
        for demo in DEMO_USERS:
            group = None
            if demo.group:
                try:
                    group = Group.objects.get(name=demo.group)
                except Group.DoesNotExist as exc:
                    raise CommandError(
                        f"Group {demo.group!r} is missing: run `manage.py migrate` first."
                    ) from exc
            user, _ = User.objects.get_or_create(
                username=demo.username, defaults={"email": f"{demo.username}@example.com"}
            )
            user.organization = organization if demo.bound_to_organization else None
            user.role = demo.role
            user.is_staff = True
            user.is_active = True
            user.is_superuser = demo.superuser
            secret = password or secrets.token_urlsafe(12)
            user.set_password(secret)
            user.save()
            user.groups.set([group] if group else [])
            rows.append(
                (
                    demo.username,
                    secret,
                    demo.group or "superuser",
                    organization.name if demo.bound_to_organization else "(platform: all)",
                )
            )
        return rows

    def seeded_staff_groups_assign(self) -> None:
        """Put seed_demo's staff (`<org>-admin-1`, `<org>-manager-1`, ...) in their role's group.

        The model layer's seeder knows roles, not the console's groups; without a group a seeded staff
        account would sign in to an empty console once someone gives it a password."""
        User = get_user_model()
        for role, group_name in SEEDED_ROLE_GROUPS.items():
            group = Group.objects.filter(name=group_name).first()
            if group is None:
                continue
            staff = User.objects.filter(
                organization__in=demo_organizations(), is_staff=True, role=role, groups=None
            )
            group.user_set.add(*staff)

    def seed_if_empty(self) -> None:
        """Hand over to `seed_demo` (the bulk demo data, issue 3) when it exists and there are no tickets.

        Both checks are cheap: the command table is cached, and `exists()` is a LIMIT 1.
        """
        if "seed_demo" not in get_commands():
            return
        try:
            ticket_model = apps.get_model("models_core", "Ticket")
        except LookupError:
            return
        if ticket_model._default_manager.exists():
            return
        call_command("seed_demo", stdout=self.stdout, stderr=self.stderr)

    def print_sign_ins(self, rows: list[tuple[str, str, str, str]], url: str) -> None:
        headers = ("username", "password", "group", "organization")
        widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

        def line(cells) -> str:
            return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Custodian demo sign-ins at {url}"))
        self.stdout.write(line(headers))
        self.stdout.write(line("-" * w for w in widths))
        for row in rows:
            self.stdout.write(line(row))
        self.stdout.write("")
