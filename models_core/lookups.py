"""`__ilike`: case-insensitive "contains" that PostgreSQL's trigram GIN indexes (gin_trgm_ops) can serve.

Django's `icontains` on PostgreSQL compiles to `UPPER(col::text) LIKE UPPER(%s)`; no index on the column
serves an expression of it, so every search scans the table. `col ILIKE %s` is what gin_trgm_ops indexes
answer. Same escaping of `%`, `_` and `\\` in the search term as `icontains` (PatternLookup).
"""

from __future__ import annotations

from django.db import models
from django.db.models.lookups import PatternLookup


class ILike(PatternLookup):
    lookup_name = "ilike"

    def as_sql(self, compiler, connection):
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs_sql} ILIKE {rhs_sql}", [*lhs_params, *rhs_params]


def lookups_register() -> None:
    """Called once from ModelsCoreConfig.ready()."""
    models.CharField.register_lookup(ILike)
    models.TextField.register_lookup(ILike)
