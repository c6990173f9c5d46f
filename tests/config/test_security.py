"""Hardening: login throttling (django-axes), Content-Security-Policy (django-csp), no caching of staff pages
and exports, `check --deploy` clean with the documented production environment, demo passwords validated."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = reverse("admin:login")
ROOT = Path(__file__).resolve().parents[2]


def attempt(client, username, password, address="203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/"}, REMOTE_ADDR=address)


def test_wrong_passwords_lock_that_user_from_that_address_only(client, settings, manager, org_admin):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, manager.username, "wrong").status_code == 200  # the form again
    assert attempt(client, manager.username, "wrong").status_code == 429
    locked = attempt(client, manager.username, DEFAULT_PASSWORD)  # the right one, too late
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many wrong passwords" in text and "platform administrator" in text
    # The same account from another address, and another account from this one, still sign in.
    assert attempt(client, manager.username, DEFAULT_PASSWORD, address="198.51.100.9").status_code == 302
    client.logout()
    assert attempt(client, org_admin.username, DEFAULT_PASSWORD).status_code == 302


def test_a_platform_superuser_unlocks_in_the_admin(client, settings, manager, platform_superuser):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, manager.username, "wrong")
    assert attempt(client, manager.username, DEFAULT_PASSWORD).status_code == 429
    lock = AccessAttempt.objects.get(username=manager.username)
    admin_client = type(client)()
    admin_client.force_login(platform_superuser)
    assert admin_client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 200
    response = admin_client.post(reverse("admin:axes_accessattempt_delete", args=[lock.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert attempt(client, manager.username, DEFAULT_PASSWORD).status_code == 302


def test_sign_in_attempts_are_not_shown_to_organization_bound_staff(client, org_admin):
    from django.contrib.auth.models import Permission

    org_admin.user_permissions.add(*Permission.objects.filter(content_type__app_label="axes"))
    client.force_login(org_admin)
    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403


def test_pages_carry_the_content_security_policy(client, org_admin):
    client.force_login(org_admin)
    policy = client.get("/")["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]  # no inline scripts


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/dashboard/trash/",
        "/dashboard/validation/",
        "/dashboard/trash/purges/?export=csv",
        "/dashboard/exports/trash/?format=csv",
        "/models_core/ticket/",
        "/dashboard/jobs/1/status/",
    ],
)
def test_dashboard_pages_and_exports_are_never_cached(client, org_admin, url):
    client.force_login(org_admin)
    response = client.get(url)
    cache = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache, (url, response.status_code)


def test_admin_export_download_is_never_cached(client, manager):
    from tests.dashboard.dataio.test_views import export_post

    client.force_login(manager)
    cache = export_post(client)["Cache-Control"]
    assert "no-store" in cache and "private" in cache


PRODUCTION_ENV = {
    # The environment the README documents for production.
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "k3y-" + "x7Qp9vLm2Zt8Rw4Nc6Hj1Bf5Gd0Ks3Ya" * 2,
    "DATABASE_URL": "postgres://custodian@127.0.0.1:5432/custodian",
    "ALLOWED_HOSTS": "console.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://console.example.com",
}


def test_check_deploy_is_clean_with_the_documented_environment():
    # The test runner's own variables (pytest-playwright sets DJANGO_ALLOW_ASYNC_UNSAFE) are not production's.
    unset = {"DEBUG", "SECURE_HSTS_SECONDS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(PRODUCTION_ENV)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_readme_documents_that_environment():
    readme = (ROOT / "README.md").read_text()
    for name in (
        "SECRET_KEY",
        "DATABASE_URL",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "SECURE_SSL_REDIRECT",
    ):
        assert name in readme


def test_setup_demo_refuses_a_password_the_validators_refuse(staff_groups, settings):
    settings.DEBUG = True
    for weak in ("123", "password", "manager1"):
        with pytest.raises(CommandError, match="--password is refused"):
            call_command("setup_demo", "--password", weak, "--no-seed", stdout=StringIO())
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="platform").exists()
