"""Settings shared by every environment, configured from the environment (12-factor)."""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
# The console is written in English only. Django's default list of ~100 languages is read, translated and
# described on every page by unfold's language menu (hidden, SHOW_LANGUAGES is off): ~0.5 ms a page.
LANGUAGES = [("en", "English")]
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["config.formats"]  # dates and times with their time zone
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# DATABASES
# ------------------------------------------------------------------------------
def private_cluster_url() -> str | None:
    """The URL of this checkout's private cluster (scripts/pg.sh), when it has been started once."""
    port_file = BASE_DIR / ".pg" / "port"
    if port_file.exists():
        return f"postgres://postgres@127.0.0.1:{port_file.read_text().strip()}/custodian"
    return None


DATABASE_URL = os.environ.get("DATABASE_URL") or private_cluster_url()
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "No database: set DATABASE_URL, or run `make db` to start this checkout's private PostgreSQL."
    )
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("Custodian needs PostgreSQL: DATABASE_URL must be a postgres:// URL.")


def replica_list(urls: list[str]) -> list[dict]:
    """Streaming replicas of the database, for DB health's per-node statistics (dashboard.dbhealth.nodes)."""
    replicas = []
    for url in urls:
        parsed = dj_database_url.parse(url)
        if not parsed["ENGINE"].endswith("postgresql") or not parsed.get("HOST"):
            raise ImproperlyConfigured(
                f"REPLICA_DATABASE_URLS: {url!r} is not a postgres://host:port/... URL."
            )
        port = int(parsed.get("PORT") or 5432)
        replicas.append(
            {
                "name": f"{parsed['HOST']}:{port}",
                "host": parsed["HOST"],
                "port": port,
                "user": parsed.get("USER") or "",
                "password": parsed.get("PASSWORD") or "",
            }
        )
    return replicas


CUSTODIAN_DBHEALTH_REPLICAS = replica_list(env_list("REPLICA_DATABASE_URLS"))

# APPS
# ------------------------------------------------------------------------------
DJANGO_APPS = [
    # unfold's apps must come before django.contrib.admin so its templates win. BasicAppConfig leaves the
    # admin site to django.contrib.admin's config, which here is ours (dashboard/adminconfig.py).
    "unfold.apps.BasicAppConfig",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "dashboard.adminconfig.CustodianAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",  # "2 minutes ago" on the home page's jobs
]
THIRD_PARTY_APPS = [
    "import_export",
    "pgtrigger",
    "procrastinate.contrib.django",
    "axes",
    "csp",
]
LOCAL_APPS = [
    "models_core",
    "dashboard",
    # One app per capability, each with its own models and migrations (dashboard/<capability>/).
    "dashboard.trash",
    "dashboard.validation",
    "dashboard.hooks",
    "dashboard.dbhealth",
    "dashboard.dataio",
    # The console's admin of the helpdesk models (their app label stays models_core).
    "dashboard.helpdesk",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "models_core.User"
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"
# django-axes first: a locked-out username + address is refused before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A database outage answers 503 "try again" (its page renders without the database), not 500.
    "dashboard.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Staff pages and exports carry other people's data: never kept by a browser or a proxy cache.
    "dashboard.security.NoStoreMiddleware",
    # Tells the constraint-violation recorder which view and user a failed write came from.
    "dashboard.dbhealth.recorder.ViolationContextMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

# STATIC AND MEDIA
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "config.staticfinders.PlotlyFinder",
]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# TEMPLATES
# ------------------------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SECURITY
# ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# A staff session ends after this long (seconds; 8 hours: a working day) and when the browser closes.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 60 * 60)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username from one
# address, that pair is locked for AXES_COOLOFF_HOURS (others still sign in; nobody can lock a colleague
# out from elsewhere). Platform superusers unlock early in the admin (Axes > Access attempts: delete).
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(hours=float(os.environ.get("AXES_COOLOFF_HOURS", "1")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_ENABLED = env_bool("AXES_ENABLED", True)
# Behind the TLS proxy, set CUSTODIAN_TRUSTED_PROXIES to the number of proxies in front of the web
# processes, so the client's address is read from X-Forwarded-For (dashboard.security.client_ip).
CUSTODIAN_TRUSTED_PROXIES = int(os.environ.get("CUSTODIAN_TRUSTED_PROXIES", "0"))
AXES_CLIENT_IP_CALLABLE = "dashboard.security.client_ip"

# Content-Security-Policy (django-csp): scripts, styles, images and fonts from our own origin only (plotly
# and unfold's assets are served from our static files), nothing may frame the console, forms post only
# here. Two relaxations, both needed by what the pages run:
# - script-src 'unsafe-eval': unfold's templates drive Alpine.js with inline expressions (x-data="{...}",
#   @click="..."), which Alpine evaluates with `new Function`. Alpine's CSP build cannot evaluate inline
#   object expressions and unfold ships no variant for it, so without this no menu, tab or filter opens.
#   Inline <script> stays forbidden ('unsafe-inline' is not given), which is what blocks injected markup.
# - style-src 'unsafe-inline': style attributes (progress bars, unfold's and Alpine's x-bind:style) and the
#   <style> elements plotly.js inserts to draw charts.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-eval'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# LOGGING
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"procrastinate": {"level": "WARNING"}},
}

# CUSTODIAN
# ------------------------------------------------------------------------------
# How many days a soft-deleted row stays in the trash before the purge job removes it;
# an organization's settings may override it per model.
CUSTODIAN_DEFAULT_RETENTION_DAYS = int(os.environ.get("CUSTODIAN_DEFAULT_RETENTION_DAYS", "30"))

# How long finished and abandoned background job runs are kept (dashboard.prune_job_runs, daily).
CUSTODIAN_JOB_RUN_RETENTION_DAYS = int(os.environ.get("CUSTODIAN_JOB_RUN_RETENTION_DAYS", "30"))

# How often pages following a background job ask for its status (milliseconds): first after this, then
# half as long again each time up to the second value, so a long job costs few requests.
CUSTODIAN_JOB_POLL_MS = (1000, 10000)

# Hook statistics are counted in each process and written to the database in batches (models_core.hooks);
# off, they are written only when code calls hook_stats_flush().
CUSTODIAN_HOOK_STATS_AUTOFLUSH = env_bool("CUSTODIAN_HOOK_STATS_AUTOFLUSH", True)

# DB health: how long statistics snapshots and constraint-violation records are kept (pruned by the hourly
# dbhealth.snapshot job),
# and whether integrity errors are recorded at all.
CUSTODIAN_DBHEALTH_RETENTION_DAYS = int(os.environ.get("CUSTODIAN_DBHEALTH_RETENTION_DAYS", "90"))
CUSTODIAN_DBHEALTH_RECORD_VIOLATIONS = env_bool("CUSTODIAN_DBHEALTH_RECORD_VIOLATIONS", True)
# Unused indexes smaller than this are counted, not listed: dropping them saves little (PgHero's min_size).
CUSTODIAN_DBHEALTH_UNUSED_MIN_BYTES = int(
    os.environ.get("CUSTODIAN_DBHEALTH_UNUSED_MIN_BYTES", str(1024 * 1024))
)
# A counting window shorter than this is too young to call an index unused (weekly jobs may not have run).
CUSTODIAN_DBHEALTH_MIN_WINDOW_DAYS = int(os.environ.get("CUSTODIAN_DBHEALTH_MIN_WINDOW_DAYS", "7"))
# Index advisor: how many of pg_stat_statements' costliest statements it plans, how much cheaper a statement
# must get for an index to count as proven (0.3: at least 30% lower cost), and the largest table on which a
# GIN candidate (which HypoPG cannot simulate) is built for real in a rolled-back transaction.
CUSTODIAN_ADVISOR_STATEMENTS = int(os.environ.get("CUSTODIAN_ADVISOR_STATEMENTS", "50"))
CUSTODIAN_ADVISOR_MIN_GAIN = float(os.environ.get("CUSTODIAN_ADVISOR_MIN_GAIN", "0.3"))
CUSTODIAN_ADVISOR_TRIAL_MAX_BYTES = int(
    os.environ.get("CUSTODIAN_ADVISOR_TRIAL_MAX_BYTES", str(50 * 1024 * 1024))
)

# Validation reports: how many days scans, resolved violations and expired waivers are kept (validation.prune,
# daily). Each rule's latest run, the latest report and current violations are kept whatever their age.
CUSTODIAN_VALIDATION_HISTORY_DAYS = int(os.environ.get("CUSTODIAN_VALIDATION_HISTORY_DAYS", "180"))

# IMPORT AND EXPORT (django-import-export, dashboard/dataio)
# ------------------------------------------------------------------------------
# Formats: CSV, XLSX, JSON (dashboard.formats, set on DataIOAdminMixin).
# Import needs the model's add right (Admins; dataio also asks for change), export its view right (Support
# managers too).
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_IMPORT_IGNORE_BLANK_LINES = True  # spreadsheets often end in empty rows
# Uploads wait for the confirm step in the default storage, which every web process shares (a temp folder
# is per machine); STORAGES["import_export"], when set, is used instead.
IMPORT_EXPORT_TMP_STORAGE_CLASS = "dashboard.dataio.tmp_storage.SharedMediaStorage"
# Largest import file and most data rows one import may have; larger files are refused on the form. A row
# costs ~6 ms in the dry run and again on confirm (full_clean validates each constraint with a query), so
# 2,000 rows keep both requests around 12 s (bench/import_loader.py).
CUSTODIAN_IMPORT_MAX_BYTES = int(os.environ.get("CUSTODIAN_IMPORT_MAX_BYTES", str(5 * 1024 * 1024)))
CUSTODIAN_IMPORT_MAX_ROWS = int(os.environ.get("CUSTODIAN_IMPORT_MAX_ROWS", "2000"))
# An XLSX is a zip: one that unpacks to more than this is refused before it is read (a small file can hold a
# million rows or one enormous cell). CSV and JSON are read as text of at most CUSTODIAN_IMPORT_MAX_BYTES.
CUSTODIAN_IMPORT_MAX_EXPANDED_BYTES = int(
    os.environ.get("CUSTODIAN_IMPORT_MAX_EXPANDED_BYTES", str(50 * 1024 * 1024))
)
# Files of more rows than this are previewed and imported by background jobs (dashboard/dataio/uploads.py):
# the upload answers at once and its page follows the job, then shows the preview in pages of
# CUSTODIAN_IMPORT_PREVIEW_PAGE_ROWS rows. Smaller files are previewed and imported within the request.
CUSTODIAN_IMPORT_SYNC_MAX_ROWS = int(os.environ.get("CUSTODIAN_IMPORT_SYNC_MAX_ROWS", "200"))
CUSTODIAN_IMPORT_PREVIEW_PAGE_ROWS = int(os.environ.get("CUSTODIAN_IMPORT_PREVIEW_PAGE_ROWS", "50"))
# Hours an upload previewed but never confirmed stays in the storage (dataio.prune_uploads, hourly); a
# confirm after that is refused as expired.
CUSTODIAN_IMPORT_UPLOAD_TTL_HOURS = int(os.environ.get("CUSTODIAN_IMPORT_UPLOAD_TTL_HOURS", "24"))
# Most rows one admin export may write (a bigger selection is refused with a hint to narrow the filters),
# and most rows of the trash's XLSX and JSON files (its CSV holds every row).
CUSTODIAN_EXPORT_MAX_ROWS = int(os.environ.get("CUSTODIAN_EXPORT_MAX_ROWS", "100000"))
# Exports of more rows than this are written by a background job (dashboard/exports/files.py): the request
# answers at once with the file's page, which follows the job and then offers the download. An export row
# costs about 3 ms of Python (model rows and import-export's fields; bench/export_job.py: 280-380 rows a
# second for the trash and the ticket changelist on the 2-core machine, 200k tickets), so 2,000 rows keep a
# download to a few seconds, as the synchronous import of 2,000 rows does. The check reads at most this many
# keys plus one, never a COUNT(*).
CUSTODIAN_EXPORT_SYNC_MAX_ROWS = int(os.environ.get("CUSTODIAN_EXPORT_SYNC_MAX_ROWS", "2000"))
# Rows per keyset chunk an export reads (each chunk costs the same few queries, whatever its position).
CUSTODIAN_EXPORT_CHUNK_ROWS = int(os.environ.get("CUSTODIAN_EXPORT_CHUNK_ROWS", "1000"))
# Bytes per stored part of such a file: a gigabyte is a thousand parts (a query each to download), and the
# writer and the download each hold about one.
CUSTODIAN_EXPORT_PART_BYTES = int(os.environ.get("CUSTODIAN_EXPORT_PART_BYTES", str(1024 * 1024)))
# Hours an export file written by a job stays downloadable (dashboard.prune_export_files, hourly).
CUSTODIAN_EXPORT_FILE_TTL_HOURS = int(os.environ.get("CUSTODIAN_EXPORT_FILE_TTL_HOURS", "24"))

# PROCRASTINATE
# ------------------------------------------------------------------------------
# Tasks live in each app's `tasks.py` (the default, stated here so it is not a surprise); the queue lives
# in the same PostgreSQL database as the data, so a task can be deferred in the transaction that needs it.
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"
PROCRASTINATE_DATABASE_ALIAS = "default"
# A worker writes a heartbeat every CUSTODIAN_WORKER_HEARTBEAT_SECONDS; one silent for
# CUSTODIAN_JOB_STALLED_SECONDS is gone (killed, or cut off from the database), and `dashboard.reconcile_jobs`
# (every minute) retries its running jobs up to CUSTODIAN_JOB_STALLED_RETRIES times, then fails them.
CUSTODIAN_WORKER_HEARTBEAT_SECONDS = float(os.environ.get("CUSTODIAN_WORKER_HEARTBEAT_SECONDS", "10"))
CUSTODIAN_JOB_STALLED_SECONDS = float(os.environ.get("CUSTODIAN_JOB_STALLED_SECONDS", "30"))
CUSTODIAN_JOB_STALLED_RETRIES = int(os.environ.get("CUSTODIAN_JOB_STALLED_RETRIES", "2"))
# `manage.py jobs_worker` reconnects after losing the database for up to this long, then exits with status 1
# so a supervisor (systemd Restart=always, scripts/serve.sh) starts it again.
CUSTODIAN_WORKER_RECONNECT_SECONDS = float(os.environ.get("CUSTODIAN_WORKER_RECONNECT_SECONDS", "300"))
# procrastinate's own rows of succeeded jobs are removed after this many hours (dashboard.remove_old_jobs,
# daily); failed, cancelled and aborted ones stay as long as their JobRun (CUSTODIAN_JOB_RUN_RETENTION_DAYS).
CUSTODIAN_QUEUE_JOB_RETENTION_HOURS = int(os.environ.get("CUSTODIAN_QUEUE_JOB_RETENTION_HOURS", "168"))
PROCRASTINATE_WORKER_DEFAULTS = {
    "update_heartbeat_interval": CUSTODIAN_WORKER_HEARTBEAT_SECONDS,
    "stalled_worker_timeout": CUSTODIAN_JOB_STALLED_SECONDS,
}

# UNFOLD
# ------------------------------------------------------------------------------
UNFOLD = {
    "SITE_TITLE": "Custodian",
    "SITE_HEADER": "Custodian",
    "SITE_SUBHEADER": _("Helpdesk data console"),
    "SITE_SYMBOL": "cleaning_services",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "THEME": None,  # None lets the user switch light/dark
    # unfold's primary-500 (links and labels in dark mode) reaches 4.3:1 on the dark background; WCAG AA
    # asks 4.5:1 (tests/e2e/test_every_page.py). A lighter shade of the same violet reaches 5:1.
    "COLORS": {"primary": {"500": "oklch(67% .235 303.9)"}},
    "SCRIPTS": ["dashboard.static_assets.a11y_script_url"],
    "STYLES": ["dashboard.static_assets.console_css_url"],
    "DASHBOARD_CALLBACK": "dashboard.home.dashboard_callback",
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": "dashboard.navigation.sidebar_navigation",
    },
}
