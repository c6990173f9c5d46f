"""PostgreSQL advisory locks: the one key scheme every lock of the project uses.

A lock is named by a namespace ("restore", "validation", "dataio", ...) and a name within it; the key is the
first 8 bytes of their BLAKE2b hash, so names of any length and content map to PostgreSQL's bigint keys with
no registry of numbers to keep. Transaction-scoped only: a lock ends with its transaction, whatever happens.
"""

from __future__ import annotations

import hashlib

from django.db import DEFAULT_DB_ALIAS, connections


def advisory_lock_key(namespace: str, name: str) -> int:
    """The bigint key of the lock `namespace:name`."""
    digest = hashlib.blake2b(f"{namespace}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def advisory_xact_lock(
    namespace: str, name: str, *, wait: bool = True, using: str = DEFAULT_DB_ALIAS
) -> bool:
    """Take the lock `namespace:name` until the current transaction ends.

    With `wait` (the default) this blocks until the lock is free and returns True; without it, returns at once
    whether the lock was taken (False: another transaction holds it).
    """
    key = advisory_lock_key(namespace, name)
    with connections[using].cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
        return bool(cursor.fetchone()[0])
