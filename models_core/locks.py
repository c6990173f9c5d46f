"""PostgreSQL advisory locks: the one key scheme every lock of the project uses.

A lock is named by a namespace ("restore", "validation", "dataio", ...) and a name within it; the key is the
first 8 bytes of their BLAKE2b hash, so names of any length and content map to PostgreSQL's bigint keys with
no registry of numbers to keep. Those are transaction-scoped: a lock ends with its transaction, whatever
happens.

A lock that must last longer than a transaction (a validation scan holds one while it runs, through many
commits) is a session lock on (namespace, object id): PostgreSQL's two-int4 form, the namespace hashed to the
first key, so other sessions can list the ids held (`advisory_session_ids_held`) and a killed process loses
its locks with its connection.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

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


def advisory_session_key(namespace: str) -> int:
    """The first (int4) key of `namespace`'s session locks; the object id is the second."""
    digest = hashlib.blake2b(namespace.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextlib.contextmanager
def advisory_session_lock(namespace: str, object_id: int, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[bool]:
    """Try to hold the session lock (namespace, object_id) for the `with` block; yields whether it was taken
    (False: another session holds it). Released at the end of the block, or with the connection."""
    key = advisory_session_key(namespace)
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [key, object_id])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connections[using].cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [key, object_id])


def advisory_session_ids_held(namespace: str, *, using: str = DEFAULT_DB_ALIAS) -> list[int]:
    """The object ids of `namespace` whose session lock some session holds right now."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objsubid = 2"
            " AND granted",
            [advisory_session_key(namespace) & 0xFFFFFFFF],
        )
        return [int(row[0]) for row in cursor.fetchall()]
