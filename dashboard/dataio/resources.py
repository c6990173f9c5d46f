"""import-export resources for the helpdesk's models, scoped to the user who imports or exports.

Row rules every resource follows (ScopedModelResource):
- Every row goes through `full_clean()` (field validation, the model's `clean()` with the centralized
  validation rules, unique and check constraints), in the dry run and again when confirmed.
- Existing records are found among the user's live records only (ScopedInstanceLoader, two queries per
  file). An id of a record in the trash is a row error ("restore it first"); an import never revives a record.
  An id that names nothing the user may touch is a row error too, never a new record with that id.
- A row updates only the columns whose values it changes (`save(update_fields=...)`): what it leaves as
  stored is not written back, so an edit of another column while the file imports is kept. A link it leaves
  as stored stays, even to a record in the trash (a ticket whose agent was deleted); the model's rules then
  leave that link out unless they also read a changed column (models_core.forms.trashed_links_left_alone,
  the forms' rule too).
  A link a row sets must name a live record of the user's (ScopedForeignKeyWidget).
- Organization-bound users: foreign keys resolve within their organization only (an organization column
  naming another one is refused), and new rows without an organization get theirs.
- Exports re-apply the same scope and the live-rows filter to whatever queryset they are given.
- Trash bookkeeping columns are neither exported nor imported: the trash pages own them.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.encoding import force_str
from import_export import resources
from import_export.instance_loaders import BaseInstanceLoader

from dashboard import ceilings
from dashboard.scoping import scope_to_organization
from models_core.forms import trashed_links_left_alone
from models_core.models import KnowledgeBaseArticle, Organization, Ticket, TicketComment, User
from models_core.softdelete import SoftDeleteModel

from .selectors import live_rows_by_id, scoped_rows, trashed_ids_in_scope
from .widgets import IsoDateTimeWidget, NativeJSONWidget, ScopedForeignKeyWidget, id_parse

INVALID = object()


class DiffCells(list):
    """import-export's diff HTML of a row's cells, with each cell's old and new text beside it (`pairs`)."""

    pairs: list[list[str]]


class PairedDiff(resources.Diff):
    """import-export's diff, also keeping each cell's old and new text: a stored preview (dataio.models)
    keeps text and the page escapes it, rather than keeping HTML to trust later."""

    def as_html(self) -> DiffCells:
        cells = DiffCells(super().as_html())
        cells.pairs = [
            ["" if self.new else force_str(old), force_str(new)]
            for old, new in zip(self.left, self.right, strict=False)
        ]
        return cells


class ScopedInstanceLoader(BaseInstanceLoader):
    """Finds each row's existing record by id among the user's live records, loaded for the whole file at once
    (one query for the live ones, one for the trashed ones among the rest, and one per linked model for
    which of the records' links point into the trash)."""

    def __init__(self, resource: ScopedModelResource, dataset: Any = None) -> None:
        super().__init__(resource, dataset)
        model = resource._meta.model
        column = resource.id_column()
        ids = set()
        if dataset is not None and column in (dataset.headers or []):
            for value in dataset[column]:
                try:
                    pk = id_parse(value)
                except ValueError:
                    continue  # reported on its own row by get_instance
                if pk is not None:
                    ids.add(pk)
        self.live = live_rows_by_id(model, resource.user, ids)
        self.trashed = trashed_ids_in_scope(model, resource.user, ids - self.live.keys())
        self.trashed_targets = resource.trashed_link_targets(self.live.values())

    def get_instance(self, row: dict) -> Any:
        resource: ScopedModelResource = self.resource
        column = resource.id_column()
        try:
            pk = id_parse(row.get(column))
        except ValueError as exc:
            raise ValidationError({column: str(exc)}) from None
        if pk is None:
            return None
        if pk in self.live:
            return self.live[pk]
        opts = resource._meta.model._meta
        if pk in self.trashed:
            raise ValidationError(
                {
                    column: f"{opts.verbose_name.capitalize()} {pk} is in the trash: restore it first. "
                    "An import never brings records back from the trash."
                },
                code="in_trash",
            )
        where = f" in {resource.user.organization}" if resource.user_organization_id() else ""
        raise ValidationError(
            {column: f"No {opts.verbose_name} with id {pk}{where}. Leave id empty to create a new one."},
            code="unknown_id",
        )


class ScopedModelResource(resources.ModelResource):
    """Base of the helpdesk resources: construct with `user=request.user` (no user: nothing matches)."""

    WIDGETS_MAP = {
        **resources.ModelResource.WIDGETS_MAP,
        "DateTimeField": IsoDateTimeWidget,
        "JSONField": NativeJSONWidget,
    }

    #: Columns a row without id (a new record) cannot do without.
    required_columns: tuple[str, ...] = ()
    #: The foreign key column binding a row to its organization (None: none, or the row is one).
    organization_column: str | None = "organization"

    class Meta:
        clean_model_instances = True  # full_clean(): fields, clean() (centralized validation), constraints
        use_transactions = True
        skip_unchanged = True  # a round trip of an export changes nothing and says so ("skipped")
        report_skipped = True
        instance_loader_class = ScopedInstanceLoader
        chunk_size = 2000

    def get_diff_class(self) -> type[resources.Diff]:
        return PairedDiff

    @classmethod
    def get_fk_widget(cls, field: Any) -> Any:
        return functools.partial(ScopedForeignKeyWidget, model=field.related_model)

    @classmethod
    def field_from_django_field(cls, field_name: str, django_field: Any, readonly: bool) -> Any:
        # What the model keeps out of forms (ticket numbers, timestamps, counters): exported, not imported.
        return super().field_from_django_field(
            field_name, django_field, readonly or not django_field.editable
        )

    def __init__(self, user: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user = user
        #: Called with each row's number once it is imported (the import jobs report progress through it).
        #: It runs outside import-export's per-row error handling: what it raises stops the whole import.
        self.on_row: Callable[[int], None] | None = None
        for field in self.fields.values():
            if isinstance(field.widget, ScopedForeignKeyWidget):
                field.widget.user = user

    # Columns
    # ------------------------------------------------------------------------------------------------

    def id_column(self) -> str:
        return self.fields["id"].column_name

    def known_columns(self) -> set[str]:
        return {field.column_name for field in self.fields.values()}

    def required_columns_for_new_rows(self) -> list[str]:
        required = list(self.required_columns)
        if self.organization_column and self.user_organization_id() is None:
            required.append(self.organization_column)
        return required

    def get_user_visible_fields(self) -> list:
        # What the import page lists as imported: the columns it writes, not the read-only ones.
        return [field for field in self.get_import_fields() if not field.readonly]

    def user_organization_id(self) -> int | None:
        return getattr(self.user, "organization_id", None)

    def link_fields(self) -> list[Any]:
        """The model's foreign keys this resource imports through a scoped widget."""
        opts = self._meta.model._meta
        attributes = {
            field.attribute
            for field in self.fields.values()
            if isinstance(field.widget, ScopedForeignKeyWidget)
        }
        return [
            f
            for f in opts.concrete_fields
            if f.is_relation and (f.attname in attributes or f.name in attributes)
        ]

    def trashed_link_targets(self, instances: Any) -> dict[type, set]:
        """Per linked model, which of `instances`' stored links point at the user's records in the trash."""
        wanted: dict[type, set] = {}
        for field in self.link_fields():
            values = {getattr(obj, field.attname) for obj in instances} - {None}
            if values and issubclass(field.related_model, SoftDeleteModel):
                wanted.setdefault(field.related_model, set()).update(values)
        return {model: trashed_ids_in_scope(model, self.user, ids) for model, ids in wanted.items()}

    # Import
    # ------------------------------------------------------------------------------------------------

    def after_init_instance(self, instance: Any, new: bool, row: dict, **kwargs: Any) -> None:
        super().after_init_instance(instance, new, row, **kwargs)
        if new and self.organization_column and self.user_organization_id():
            # Organization-bound users create rows in their organization; a column naming another is refused
            # by the foreign key widget.
            setattr(instance, f"{self.organization_column}_id", self.user_organization_id())

    def import_field(self, field: Any, instance: Any, row: dict, is_m2m: bool = False, **kwargs: Any) -> None:
        if isinstance(field.widget, ScopedForeignKeyWidget) and field.column_name in row:
            try:
                pk = id_parse(row[field.column_name])
            except ValueError:
                pk = INVALID  # the widget reports it
            if pk is None and field.column_name == self.organization_column and self.user_organization_id():
                return  # an empty organization cell keeps the user's organization
            if not instance._state.adding and pk == getattr(instance, field.attribute):
                # Unchanged: keep it even if the target is in the trash now (a ticket whose customer was
                # deleted still exports and re-imports), and spare the lookup.
                return
        super().import_field(field, instance, row, is_m2m=is_m2m, **kwargs)

    def import_row(self, row: dict, instance_loader: Any, **kwargs: Any) -> Any:
        self._loader = instance_loader
        self._row_changed: set[str] = set()
        row_result = super().import_row(row, instance_loader, **kwargs)
        if self.on_row is not None:
            self.on_row(kwargs["row_number"])
        return row_result

    def import_instance(self, instance: Any, row: dict, **kwargs: Any) -> None:
        fields = instance._meta.concrete_fields
        before = (
            None if instance._state.adding else copy.deepcopy([getattr(instance, f.attname) for f in fields])
        )
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            # import-export keys a column's error by attribute ("customer_id"); people know the column.
            by_attribute = {f.attribute: f.column_name for f in self.fields.values()}
            raise ValidationError(
                {by_attribute.get(key, key): errors for key, errors in exc.error_dict.items()}
            ) from None
        finally:
            if before is not None:
                self._row_changed = {
                    f.name
                    for f, old in zip(fields, before, strict=True)
                    if getattr(instance, f.attname) != old
                }

    def validate_instance(
        self, instance: Any, import_validation_errors: dict | None = None, validate_unique: bool = True
    ) -> None:
        # import-export's, plus the links this row leaves alone in the trash (see the module's docstring).
        errors = dict(import_validation_errors or {})
        if self._meta.clean_model_instances:
            exclude = set(errors) | self._trashed_links_left_alone(instance)
            try:
                instance.full_clean(exclude=exclude, validate_unique=validate_unique)
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def _trashed_links_left_alone(self, instance: Any) -> set[str]:
        if instance._state.adding:
            return set()
        targets = getattr(getattr(self, "_loader", None), "trashed_targets", {})
        trashed = {
            field.name
            for field in self.link_fields()
            if field.name not in self._row_changed
            and getattr(instance, field.attname) in targets.get(field.related_model, ())
        }
        return trashed_links_left_alone(instance, trashed, self._row_changed) if trashed else set()

    def do_instance_save(self, instance: Any, is_create: bool) -> None:
        if is_create:
            super().do_instance_save(instance, is_create)
            return
        # Only what the row changed, and what saving stamps (auto_now); before-save hooks add theirs.
        stamped = {f.name for f in instance._meta.concrete_fields if getattr(f, "auto_now", False)}
        instance.save(update_fields=self._row_changed | stamped if self._row_changed else [])

    # Export
    # ------------------------------------------------------------------------------------------------

    def filter_export(self, queryset: QuerySet, **kwargs: Any) -> QuerySet:
        # The admin hands over its scoped changelist queryset; scoping again costs one equality and makes the
        # resource safe on its own. Live rows only: the trash is exported from the trash.
        queryset = super().filter_export(queryset, **kwargs).filter(deleted_at__isnull=True)
        return scope_to_organization(queryset, self.user)

    def get_queryset(self) -> QuerySet:
        return scoped_rows(self._meta.model, self.user)


class OrganizationResource(ScopedModelResource):
    required_columns = ("name", "slug")
    organization_column = None

    class Meta:
        model = Organization
        fields = (
            "id",
            "name",
            "slug",
            "subscription_tier",
            "settings",
            "last_ticket_number",
            "created_at",
            "updated_at",
        )
        name = "Organizations"

    def after_init_instance(self, instance: Any, new: bool, row: dict, **kwargs: Any) -> None:
        super().after_init_instance(instance, new, row, **kwargs)
        if new and self.user_organization_id():
            raise ValidationError(
                "Only platform staff create organizations: you may update your own organization only.",
                code="not_platform",
            )


class UserResource(ScopedModelResource):
    required_columns = ("username",)

    class Meta:
        model = User
        # No password, superuser flag, groups or permissions: importing them would hand out access.
        fields = (
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "organization",
            "role",
            "availability_status",
            "customer_tier",
            "max_concurrent_tickets",
            "skills",
            "certifications",
            "is_active",
            "is_staff",
            "last_active_at",
            "date_joined",
            "created_at",
        )
        name = "Users"

    def after_init_instance(self, instance: Any, new: bool, row: dict, **kwargs: Any) -> None:
        super().after_init_instance(instance, new, row, **kwargs)
        if new:
            # Imported accounts cannot sign in until someone sets a password or sends a reset.
            instance.set_unusable_password()

    def import_instance(self, instance: Any, row: dict, **kwargs: Any) -> None:
        # The role ceilings hold for files too: an organization-bound importer gives or takes no console
        # access (is_staff) and moves nobody to another organization (dashboard.ceilings).
        before = None if instance._state.adding else ceilings.user_account_values(instance)
        super().import_instance(instance, row, **kwargs)
        errors = ceilings.user_account_errors(self.user, instance, before=before)
        if errors:
            raise ValidationError(errors)


class TicketResource(ScopedModelResource):
    required_columns = ("subject", "customer")

    class Meta:
        model = Ticket
        fields = (
            "id",
            "organization",
            "ticket_number",
            "subject",
            "description",
            "status",
            "priority",
            "customer",
            "assigned_agent",
            "tags",
            "custom_fields",
            "first_response_due",
            "resolution_due",
            "sla_breach",
            "time_to_first_response",
            "customer_satisfaction_score",
            "first_responded_at",
            "resolved_at",
            "created_at",
            "updated_at",
        )
        name = "Tickets"


class TicketCommentResource(ScopedModelResource):
    required_columns = ("ticket", "content")
    organization_column = None  # the ticket column decides, and its widget only finds the user's tickets

    class Meta:
        model = TicketComment
        fields = ("id", "ticket", "comment_type", "author", "content", "created_at")
        name = "Ticket comments"


class KnowledgeBaseArticleResource(ScopedModelResource):
    required_columns = ("title", "slug")

    class Meta:
        model = KnowledgeBaseArticle
        fields = (
            "id",
            "organization",
            "title",
            "slug",
            "status",
            "author",
            "content",
            "view_count",
            "created_at",
            "updated_at",
        )
        name = "Knowledge base articles"
