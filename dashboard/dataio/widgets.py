"""Column converters for the resources: exact round trips and clear row errors.

A widget's ValueError becomes a row error on its column (import-export's `import_instance`), so every bad
value here raises ValueError with a message a person can act on, never another exception (which would show
as a crash with a traceback).
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from import_export import widgets

from .selectors import scoped_rows


def id_parse(value: Any) -> int | None:
    """A primary key from a cell: "12", 12, 12.0 (spreadsheets) -> 12; empty -> None; else ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"“{value}” is not an id (a whole number).")
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"“{value}” is not an id (a whole number).") from None
    if number != number.to_integral_value() or number < 1:
        raise ValueError(f"“{value}” is not an id (a whole number).")
    return int(number)


class IsoDateTimeWidget(widgets.DateTimeWidget):
    """ISO 8601 with microseconds and offset, so an exported value imports back to the same instant.

    Accepts what people type too: "2025-03-01 14:30", "2025-03-01", with or without an offset (naive
    values are in the site's time zone), and native spreadsheet dates.
    """

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        if not isinstance(value, datetime.datetime):
            return ""
        if settings.USE_TZ and timezone.is_aware(value):
            value = timezone.localtime(value)
        # Text even in XLSX: spreadsheet dates hold milliseconds and no offset, which would change the value.
        return value.isoformat(sep=" ")

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> datetime.datetime | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, datetime.datetime):
            parsed = value
        elif isinstance(value, datetime.date):
            parsed = datetime.datetime.combine(value, datetime.time())
        else:
            text = str(value).strip()
            try:
                parsed = parse_datetime(text)
            except ValueError:
                parsed = None
            if parsed is None:
                try:
                    parsed = self._parse_value(text, datetime.datetime)
                except ValueError:
                    raise ValueError(
                        f"“{text}” is not a date and time (write e.g. 2025-03-01 14:30 or 2025-03-01)."
                    ) from None
        if settings.USE_TZ and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed


class NativeJSONWidget(widgets.JSONWidget):
    """JSON text in cells; JSON files may also give native lists and objects. No guessing at quotes."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        if isinstance(value, list | dict):
            return value
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return json.loads(value)
        except (TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"“{value}” is not valid JSON ({exc}).") from None

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return "" if value is None else json.dumps(value, ensure_ascii=False)


class ScopedForeignKeyWidget(widgets.ForeignKeyWidget):
    """A foreign key by id, looked up among the importing user's live records only.

    The resource sets `user`; without one nothing matches. An id of a record in the trash, of another
    organization or of nothing at all gives a row error saying which.
    """

    user: Any = None

    def get_queryset(self, value: Any, row: Any, *args: Any, **kwargs: Any):
        return scoped_rows(self.model, self.user)

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        pk = id_parse(value)
        if pk is None:
            return None
        obj = self.get_queryset(value, row).filter(pk=pk).first()
        if obj is None:
            raise ValueError(self.missing_message(pk))
        return obj.pk if self.key_is_id else obj

    def missing_message(self, pk: int) -> str:
        opts = self.model._meta
        name = opts.verbose_name
        if scoped_rows(self.model, self.user, trashed=True).filter(pk=pk).exists():
            return f"{name.capitalize()} {pk} is in the trash: restore it first."
        organization = getattr(self.user, "organization", None)
        if organization is None:
            return f"No {name} with id {pk}."
        if opts.label == "models_core.Organization":
            return (
                f"Organization {pk} is not yours: you may import rows of “{organization}” "
                f"(id {organization.pk}) only."
            )
        return f"No {name} with id {pk} in {organization}."
