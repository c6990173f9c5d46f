"""The unfold admin for the model layer: every model, live rows only, scoped to the viewer's organization.

Rules every admin here follows:
- Querysets come from the default manager (`Model.objects`, live rows); the trash has its own pages.
- Deleting moves rows to the trash, asking for a reason (dashboard.trash.admin.MoveToTrashAdminMixin).
- A staff user bound to an organization sees and picks only that organization's rows, filter labels and
  list columns included (`.scoped.OrganizationScopedMixin`, each model's `organization_path`); platform
  staff (no organization) see all. Role ceilings (dashboard.ceilings) hold in the user form itself.
- Foreign keys to big tables never render a <select> of every row: autocomplete or raw id widgets.
- Big tables (tickets, comments, attachments, users, sessions) never count the whole table: unfold's
  InfinitePaginator plus `show_full_result_count = False`.

One module per group of models (accounts, tickets, reference data) over the shared bases in `base`;
importing this package registers them all with the admin site.
"""

from . import accounts, reference, tickets  # noqa: F401  (each registers its ModelAdmins)
