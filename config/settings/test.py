"""Settings for pytest: the same PostgreSQL, fast hashing, no manifest storage."""

from .base import *  # noqa: F403
from .base import DATABASES, env_bool

DEBUG = False
SECRET_KEY = "test-only-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ALLOWED_HOSTS = ["*"]
DATABASES["default"]["CONN_MAX_AGE"] = 0
# Browser tests in CI must fail, not skip, when Chromium cannot start.
CUSTODIAN_REQUIRE_BROWSER = env_bool("CI", False)
# Serve static files straight from the finders, so no collectstatic is needed before running.
WHITENOISE_AUTOREFRESH = True
# Hook statistics are flushed only where a test asks for it: an automatic flush at exit would otherwise
# write the run's counts into the development database once pytest-django has switched back to it.
CUSTODIAN_HOOK_STATS_AUTOFLUSH = False
# Browser tests follow jobs the way users do, through the page's poller: poll often so they wait for the
# job, not for the poller's back-off.
CUSTODIAN_JOB_POLL_MS = (100, 250)
# The constraint-violation recorder commits through its own connection, so its rows outlive each test's
# rollback; tests that read them ask for the `recorded_violations` fixture, which turns it on and cleans up.
CUSTODIAN_DBHEALTH_RECORD_VIOLATIONS = False
