"""Writes that have nothing to do answer like Django's and fire nothing (finding 4)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from models_core.hooks import HookType
from models_core.models import Ticket
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_save_with_empty_update_fields_is_a_no_op(hooks):
    """Django: `save(update_fields=[])` returns without a query or a signal; here no hook fires either."""
    ticket = TicketFactory()
    fired = []

    def record(instance, **context):
        fired.append(context)
        return ["subject"]

    hooks(HookType.BEFORE_UPDATE, Ticket, record)
    hooks(HookType.AFTER_SAVE, Ticket, record)
    ticket.subject = "not written"
    with CaptureQueriesContext(connection) as queries:
        ticket.save(update_fields=[])
    assert fired == [] and len(queries) == 0
    assert Ticket.objects.get(pk=ticket.pk).subject != "not written"


def test_empty_queryset_delete_answers_like_django():
    """Django's `QuerySet.delete()` on nothing returns (0, {})."""
    assert Ticket.objects.none().delete() == (0, {})
    assert Ticket.objects.filter(pk=-1).delete() == (0, {})
    ticket = TicketFactory()
    total, counts = Ticket.objects.filter(pk=ticket.pk).delete()
    assert total == 1 and counts == {"models_core.Ticket": 1}
    assert Ticket.all_objects.filter(pk=ticket.pk).delete() == (0, {})  # already in the trash
