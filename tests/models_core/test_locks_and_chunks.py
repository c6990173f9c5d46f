"""The one advisory-lock helper and the one keyset loop and page of the model layer."""

import pytest
from django.db import connection, transaction

from models_core.keyset import keyset_chunks, keyset_page
from models_core.locks import (
    advisory_lock_key,
    advisory_session_ids_held,
    advisory_session_key,
    advisory_session_lock,
    advisory_xact_lock,
)
from models_core.models import Ticket
from tests.conditions import wait_until
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_lock_held_by_another_transaction_is_not_taken_without_waiting():
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [advisory_lock_key("test", "held")])
        with transaction.atomic():
            assert advisory_xact_lock("test", "held", wait=False) is False
            assert advisory_xact_lock("test", "free", wait=False) is True
    finally:
        other.close()


def test_lock_keys_differ_by_namespace_and_fit_a_bigint():
    keys = {advisory_lock_key(ns, name) for ns in ("restore", "dataio") for name in ("a", "b")}
    assert len(keys) == 4
    assert all(-(2**63) <= key < 2**63 for key in keys)


def test_a_session_lock_is_seen_by_others_and_ends_with_its_block_or_its_connection():
    # A negative namespace key (the hash's sign) must still be found: pg_locks shows it as an unsigned oid.
    namespace = next(f"test{n}" for n in range(100) if advisory_session_key(f"test{n}") < 0)
    with advisory_session_lock(namespace, 7) as held:
        assert held and advisory_session_ids_held(namespace) == [7]
    assert advisory_session_ids_held(namespace) == []
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [advisory_session_key(namespace), 8])
        with advisory_session_lock(namespace, 8) as held:
            assert held is False
        assert advisory_session_ids_held(namespace) == [8]
    finally:
        other.close()
    # The closed backend releases its session locks a moment after close() returns.
    wait_until(lambda: advisory_session_ids_held(namespace) == [], what="the closed session's lock to go")


def test_keyset_chunks_read_every_row_once_even_when_rows_go_meanwhile():
    tickets = TicketFactory.create_batch(7)
    seen = []
    for chunk in keyset_chunks(Ticket.objects.filter(pk__in=[t.pk for t in tickets]), 3):
        assert len(chunk) <= 3
        seen.extend(row.pk for row in chunk)
        Ticket.all_objects.filter(pk=chunk[0].pk).delete()  # the caller changes rows between chunks
    assert seen == sorted(t.pk for t in tickets)


def test_keyset_page_walks_both_ways_and_refuses_a_damaged_marker():
    pks = sorted(t.pk for t in TicketFactory.create_batch(5))
    tickets = Ticket.objects.filter(pk__in=pks)
    first, marker = keyset_page(tickets, None, 2)
    second, marker = keyset_page(tickets, marker, 2)
    third, last = keyset_page(tickets, marker, 2)
    assert [t.pk for t in first + second + third] == pks and last is None
    newest, marker = keyset_page(tickets, "", 3, descending=True)
    rest, _ = keyset_page(tickets, str(marker), 3, descending=True)
    assert [t.pk for t in newest + rest] == pks[::-1]
    for damaged in ("abc", "-1", "9" * 19):
        with pytest.raises(ValueError, match="page link is damaged"):
            keyset_page(tickets, damaged, 2)
