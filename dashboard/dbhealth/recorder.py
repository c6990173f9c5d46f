"""Records every integrity error at the database boundary, outside the transaction that failed.

How it hooks in (installed by DbHealthConfig.ready()):
- `connection_created` puts `ViolationRecorder` in front of every Django connection's execute wrappers
  (Django's "database instrumentation"), so an IntegrityError from any ORM or raw query is seen with
  psycopg's `diag` (SQLSTATE, constraint, table, column) before it propagates.
- Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: inside `atomic()` they fail at COMMIT, which does
  not pass through execute wrappers, so the connection's `_commit` is wrapped too.
- `ViolationContextMiddleware` and `violation_context()` say who and what was writing (view name, command or
  task name, user, organization) through a contextvar; without one, a management command's name is taken
  from argv.
- Violations caught earlier by `Model.validate_constraints()` (forms, full_clean) arrive through
  `models_core.signals.constraint_validation_failed` and are recorded with kind "prevented".

The record is written by a fresh autocommit psycopg connection to the same database: the failed transaction
may be aborted (every further statement on it fails) and will be rolled back, which would take a record
written on it along. No row values are kept: psycopg's message and detail quote them, so only names are read.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, router
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.functional import empty

logger = logging.getLogger(__name__)

# What the database would have answered for a constraint that validation caught first.
PREVENTED_SQLSTATES = {"unique": "23505", "check": "23514", "exclusion": "23P01"}


@dataclass(frozen=True)
class ViolationContext:
    source_kind: str
    source: str
    user: Any = None  # a user instance, or a request whose user is read only if already loaded


_context: contextvars.ContextVar[ViolationContext | None] = contextvars.ContextVar(
    "dbhealth_violation_context", default=None
)


@contextlib.contextmanager
def violation_context(source_kind: str, source: str, user: Any = None) -> Iterator[None]:
    """Attribute violations inside the block to a command or task (and optionally a user)."""
    token = _context.set(ViolationContext(source_kind, source[:200], user))
    try:
        yield
    finally:
        _context.reset(token)


class ViolationContextMiddleware:
    """Tells the recorder which view (and whose request) a violation came from."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _context.set(ViolationContext("view", request.path[:200], request))
        try:
            return self.get_response(request)
        finally:
            _context.reset(token)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: Any, view_kwargs: Any
    ) -> None:
        match = request.resolver_match
        name = (match.view_name if match else "") or getattr(view_func, "__qualname__", "")
        _context.set(ViolationContext("view", name[:200], request))


def _current_user(subject: Any) -> Any:
    """The user, without a query: the failed transaction may refuse any further statement."""
    if isinstance(subject, HttpRequest):
        lazy = getattr(subject, "user", None)
        if lazy is None:
            return None
        wrapped = getattr(lazy, "_wrapped", lazy)
        return None if wrapped is empty else wrapped
    return subject


def _where() -> tuple[str, str, int | None, int | None]:
    context = _context.get()
    if context is None:
        command = (
            sys.argv[1] if len(sys.argv) > 1 and sys.argv[0].endswith(("manage.py", "django-admin")) else ""
        )
        context = ViolationContext("command", command) if command else ViolationContext("other", "")
    user = _current_user(context.user)
    user_id = getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None
    organization_id = getattr(user, "organization_id", None) if user_id else None
    return context.source_kind, context.source, user_id, organization_id


@cache
def _models_by_table() -> dict[str, str]:
    return {model._meta.db_table: model._meta.label for model in apps.get_models(include_auto_created=True)}


def violation_write(
    *,
    kind: str,
    sqlstate: str,
    constraint_name: str = "",
    table_name: str = "",
    column_name: str = "",
    model_label: str = "",
    using: str = DEFAULT_DB_ALIAS,
) -> bool:
    """Insert one ConstraintViolation through its own autocommit connection; False (logged) if that fails.

    Never raises: the caller is already handling an error, and a recorder must not replace it with its own.
    """
    from dashboard.dbhealth.models import ConstraintViolation
    from dashboard.sidedb import side_connection

    if not getattr(settings, "CUSTODIAN_DBHEALTH_RECORD_VIOLATIONS", True):
        return False
    try:
        source_kind, source, user_id, organization_id = _where()
        model_label = model_label or _models_by_table().get(table_name, "")
        table = ConstraintViolation._meta.db_table
        with side_connection(using) as conn:
            conn.execute(
                f'INSERT INTO "{table}" (occurred_at, kind, sqlstate, constraint_name, table_name, '
                "column_name, "
                "model_label, organization_id, user_id, source_kind, source) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    timezone.now(),
                    kind,
                    (sqlstate or "")[:5],
                    (constraint_name or "")[:63],
                    (table_name or "")[:63],
                    (column_name or "")[:63],
                    model_label[:200],
                    organization_id,
                    user_id,
                    source_kind,
                    source[:200],
                ],
            )
        return True
    except Exception:
        logger.warning("Could not record a constraint violation", exc_info=True)
        return False


def _record_integrity_error(exc: BaseException, using: str) -> None:
    if getattr(exc, "_dbhealth_recorded", False):
        return
    diag = getattr(exc.__cause__, "diag", None)
    if diag is None:
        return
    with contextlib.suppress(AttributeError):
        exc._dbhealth_recorded = True
    violation_write(
        kind="error",
        sqlstate=diag.sqlstate or "",
        constraint_name=diag.constraint_name or "",
        table_name=diag.table_name or "",
        column_name=diag.column_name or "",
        using=using,
    )


class ViolationRecorder:
    """An execute wrapper: records IntegrityErrors and lets them propagate unchanged."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
        try:
            return execute(sql, params, many, context)
        except IntegrityError as exc:
            _record_integrity_error(exc, self.alias)
            raise


def _wrap_commit(connection: Any) -> None:
    original = connection._commit

    def _commit() -> Any:
        try:
            return original()
        except IntegrityError as exc:
            _record_integrity_error(exc, connection.alias)
            raise

    connection._commit = _commit


def install_on_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created receiver; idempotent, since a connection object reconnects many times."""
    if getattr(connection, "vendor", "") != "postgresql" or getattr(connection, "_dbhealth_recorder", None):
        return
    recorder = ViolationRecorder(connection.alias)
    # First in the list: wrappers pushed later with `connection.execute_wrapper()` pop themselves off the end.
    connection.execute_wrappers.insert(0, recorder)
    _wrap_commit(connection)
    connection._dbhealth_recorder = recorder


def prevented_violations_record(sender: type, instance: Any, exclude: Any = None, **kwargs: Any) -> int:
    """Receiver of constraint_validation_failed: record each constraint the instance fails, kind "prevented".

    Validation reports errors per field, not per constraint, so each constraint is checked again here; this
    runs only when validation already failed, which is rare next to successful saves.
    """
    recorded = 0
    using = router.db_for_write(type(instance), instance=instance)
    for model_class, constraints in instance.get_constraints():
        for constraint in constraints:
            try:
                constraint.validate(model_class, instance, exclude=exclude, using=using)
            except ValidationError:
                recorded += violation_write(
                    kind="prevented",
                    sqlstate=PREVENTED_SQLSTATES.get(constraint_kind(constraint), "23000"),
                    constraint_name=constraint.name,
                    table_name=type(instance)._meta.db_table,
                    model_label=type(instance)._meta.label,
                    using=using,
                )
            except Exception:
                logger.warning("Could not re-check constraint %s", constraint.name, exc_info=True)
    return recorded


def constraint_kind(constraint: Any) -> str:
    from django.contrib.postgres.constraints import ExclusionConstraint
    from django.db.models import CheckConstraint, UniqueConstraint

    if isinstance(constraint, UniqueConstraint):
        return "unique"
    if isinstance(constraint, CheckConstraint):
        return "check"
    if isinstance(constraint, ExclusionConstraint):
        return "exclusion"
    return "other"


def install() -> None:
    from models_core.signals import constraint_validation_failed

    connection_created.connect(install_on_connection, dispatch_uid="dbhealth_violation_recorder")
    constraint_validation_failed.connect(prevented_violations_record, dispatch_uid="dbhealth_prevented")
    # Connections opened before this app was ready (rare: a check framework query) get it too.
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            install_on_connection(None, connection)
