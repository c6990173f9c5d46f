"""Hooks in django-lifecycle's terms: bare model names, string types, `when=` conditions, field tracking,
skipping hooks on purpose (findings 5-7). Each test names the lifecycle behaviour it mirrors."""

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from models_core.hooks import bypass_hooks, model_hook
from models_core.hooks import definitions as hook_definitions
from models_core.hooks import registry as hook_registry
from models_core.models import Ticket
from tests.factories import CustomerFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls():
    return []


@pytest.fixture
def record(calls):
    def make(name):
        def hook(ticket, **context):
            calls.append((name, ticket.pk))

        hook.__qualname__ = f"hook_{name}"
        return hook

    return make


@pytest.fixture(autouse=True)
def drain_bypasses():
    hook_registry.stats_take()
    yield
    hook_registry.stats_take()


def test_the_reports_call_form_with_a_bare_model_name(calls):
    """lifecycle `@hook(BEFORE_SAVE)`: the report writes `@model_hook('before_save', 'Ticket')` with no
    error policy; it registers on the one model named Ticket, errors raise (a signal handler's default)."""

    @model_hook("before_save", "Ticket")
    def stamp(ticket, **context):
        calls.append(ticket.subject)

    try:
        assert stamp.model_hook.model is Ticket and stamp.model_hook.on_error == "raise"
        ticket = TicketFactory()
        assert calls == [ticket.subject]
    finally:
        hook_registry.unregister(stamp.model_hook)


def test_hook_types_are_strings_in_any_case(record):
    hook = hook_registry.register_hook("BEFORE_SAVE", "ticket", record("x"))
    try:
        assert hook.hook_type == "before_save" and hook.model is Ticket
    finally:
        hook_registry.unregister(hook)


def test_unknown_and_ambiguous_model_names_are_clear_errors(record, monkeypatch):
    with pytest.raises(ValueError, match="No model is named 'Tikcet'"):
        model_hook("before_save", "Tikcet")(record("x"))
    with pytest.raises(ValueError, match=r"No model .nowhere\.Ticket."):
        model_hook("before_save", "nowhere.Ticket")(record("x"))
    twin = SimpleNamespace(__name__="Ticket", _meta=SimpleNamespace(label="archive.Ticket"))
    registry_apps = hook_definitions.apps
    monkeypatch.setattr(
        hook_definitions, "apps", SimpleNamespace(get_models=lambda: [*registry_apps.get_models(), twin])
    )
    with pytest.raises(ValueError, match=r"several models \(archive.Ticket, models_core.Ticket\)"):
        model_hook("before_save", "Ticket")(record("x"))


def test_conditions_are_checked_at_registration(record):
    with pytest.raises(ValueError, match="has no field 'stauts'"):
        hook_registry.register_hook("before_save", Ticket, record("x"), when="stauts", has_changed=True)
    with pytest.raises(TypeError, match="need when="):
        hook_registry.register_hook("before_save", Ticket, record("x"), has_changed=True)
    with pytest.raises(TypeError, match="Unknown hook option"):
        hook_registry.register_hook("before_save", Ticket, record("x"), when="status", changed=True)


@pytest.mark.parametrize(
    ("condition", "change", "fires"),
    [
        # lifecycle test_conditions: has_changed / was / is_now / was_not / is_not, alone and combined.
        ({"has_changed": True}, "open", True),
        ({"has_changed": True}, None, False),
        ({"has_changed": False}, None, True),
        ({"was": "new"}, "open", True),
        ({"was": "open"}, "resolved", False),
        ({"is_now": "open"}, "open", True),
        ({"is_now": "resolved"}, "open", False),
        ({"was_not": "new"}, "open", False),
        ({"was_not": "open"}, "open", True),
        ({"is_not": "open"}, "open", False),
        ({"is_not": "resolved"}, "open", True),
        ({"has_changed": True, "was": "new", "is_now": "resolved"}, "resolved", True),
        ({"has_changed": True, "was": "new", "is_now": "resolved"}, "open", False),
    ],
)
def test_when_conditions(hooks, calls, record, condition, change, fires):
    ticket = TicketFactory(status="new")
    hooks("before_update", Ticket, record("x"), when="status", **condition)
    ticket = Ticket.objects.get(pk=ticket.pk)
    if change is not None:
        ticket.status = change
    else:
        ticket.subject = "other change"
    ticket.save()
    assert (calls == [("x", ticket.pk)]) is fires


def test_initial_value_and_has_changed_need_no_query(hooks, record):
    """lifecycle `initial_value()` / `has_changed()` (its model state test): known from the load, kept
    through in-place changes of JSON values, reset by a save and by refresh_from_db; for the fields the
    model's hooks watch (when=)."""
    for field in ("status", "tags", "customer", "subject"):
        hooks("after_update", Ticket, record(field), when=field)
    ticket = Ticket.objects.get(pk=TicketFactory(status="new", tags=["a"]).pk)
    ticket.status = "open"
    ticket.tags.append("b")
    with CaptureQueriesContext(connection) as queries:
        assert ticket.initial_value("status") == "new" and ticket.has_changed("status")
        assert ticket.initial_value("tags") == ["a"] and ticket.has_changed("tags")
        assert not ticket.has_changed("subject")
        assert ticket.initial_value("customer") == ticket.customer_id
    assert len(queries) == 0
    ticket.save()
    assert not ticket.has_changed("status") and ticket.initial_value("status") == "open"
    Ticket.objects.filter(pk=ticket.pk).update(status="pending")
    ticket.refresh_from_db()
    assert ticket.initial_value("status") == "pending" and not ticket.has_changed("status")
    ticket.customer = CustomerFactory(organization=ticket.organization)
    ticket.save(update_fields=["customer"])  # a foreign key named by its field name
    assert ticket.initial_value("customer") == ticket.customer_id and not ticket.has_changed("customer")


def test_only_watched_fields_are_tracked(hooks, record):
    """django-dirtyfields' FIELDS_TO_CHECK: loading a row keeps the stored values of the fields some hook's
    condition names, and nothing for a model without conditions; asking about another field is an error
    saying how to watch it, never a silent "unchanged"."""
    plain = Ticket.objects.get(pk=TicketFactory(tags=["a"]).pk)
    assert "_hooks_initial" not in plain.__dict__
    with pytest.raises(ValueError, match=r"Ticket\.status is not tracked.*when='status'"):
        plain.has_changed("status")

    hook = hooks("before_update", Ticket, record("x"), when="status", has_changed=True)
    ticket = Ticket.objects.get(pk=plain.pk)
    assert ticket.__dict__["_hooks_initial"] == {"status": ticket.status}
    with pytest.raises(ValueError, match="not tracked"):
        ticket.initial_value("tags")
    hook_registry.unregister(hook)
    assert "_hooks_initial" not in Ticket.objects.get(pk=plain.pk).__dict__


def test_a_new_instance_has_no_stored_values(hooks, record):
    hooks("before_save", Ticket, record("x"), when="status")
    ticket = TicketFactory.build(status="open")
    assert ticket.initial_value("status") is None and ticket.has_changed("status")


def test_hooks_see_what_changed_before_the_stored_state_moves_on(hooks):
    """lifecycle fires AFTER_UPDATE hooks with has_changed still answering for the save that ran them."""
    seen = []

    def after(ticket, **context):
        seen.append((ticket.initial_value("status"), ticket.status))

    hooks("after_update", Ticket, after, when="status", has_changed=True)
    ticket = Ticket.objects.get(pk=TicketFactory(status="new").pk)
    ticket.status = "open"
    ticket.save()
    assert seen == [("new", "open")]


def test_save_skip_hooks_runs_none_and_is_counted(hooks, calls, record):
    """lifecycle `save(skip_hooks=True)`; here the skip shows beside the bulk bypasses."""
    ticket = TicketFactory()
    hooks("before_save", Ticket, record("x"))
    ticket.subject = "quiet"
    ticket.save(skip_hooks=True)
    assert calls == [] and Ticket.objects.get(pk=ticket.pk).subject == "quiet"
    _, bypasses = hook_registry.stats_take()
    assert bypasses[("models_core.Ticket", "skip_hooks")] == (1, 1)


def test_bypass_hooks_covers_save_delete_soft_delete_and_restore(hooks, calls, record):
    """lifecycle has `bypass_hooks_for` on querysets; a context manager covers every write path here."""
    ticket = TicketFactory()
    for event in ("before_save", "before_soft_delete", "after_restore", "before_delete"):
        hooks(event, Ticket, record(event))
    with bypass_hooks():
        ticket.subject = "script"
        ticket.save()
        ticket.soft_delete(reason="script")
        ticket.restore()
        Ticket.all_objects.filter(pk=ticket.pk).hard_delete()
    assert calls == []
    _, bypasses = hook_registry.stats_take()
    assert bypasses[("models_core.Ticket", "bypass_hooks")][0] == 4
    # Outside the block hooks run again.
    TicketFactory()
    assert [name for name, _ in calls] == ["before_save"]


def test_a_false_condition_costs_no_query(hooks, record):
    ticket = TicketFactory()
    hooks("before_update", Ticket, record("x"), when="status", has_changed=True)
    ticket.subject = "same status"
    with CaptureQueriesContext(connection) as queries:
        ticket.save()
    assert len(queries) == 1
