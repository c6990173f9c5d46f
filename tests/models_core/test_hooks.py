"""The hook registry and its firing paths: order, abort, on-commit, error policy, cascades, bypasses."""

import logging
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from models_core.hooks import ErrorPolicy, HookType
from models_core.hooks import registry as hook_registry
from models_core.hooks.stats import stats_buffer
from models_core.models import (
    KnowledgeBaseArticle,
    Organization,
    Ticket,
    TicketAttachment,
    TicketComment,
    User,
    UserSession,
)
from models_core.restore import batch_restore
from tests.factories import (
    OrganizationFactory,
    TicketFactory,
    UserFactory,
    UserSessionFactory,
    build_tenant,
)

pytestmark = pytest.mark.django_db


def recorder(log, name, result=None):
    def hook(instance, **context):
        log.append((name, instance.pk, dict(context)))
        return result

    hook.__qualname__ = f"recorder_{name}"
    return hook


# Order
# ----------------------------------------------------------------------------------------------------


def test_priority_then_registration_order_and_report_event_order(hooks):
    log = []
    hooks(HookType.AFTER_CREATE, UserSession, recorder(log, "after_create"))
    hooks(HookType.BEFORE_SAVE, UserSession, recorder(log, "save_late"), priority=200)
    hooks(HookType.BEFORE_SAVE, UserSession, recorder(log, "save_first_registered"))
    hooks(HookType.BEFORE_SAVE, UserSession, recorder(log, "save_early"), priority=5)
    hooks(HookType.BEFORE_SAVE, UserSession, recorder(log, "save_second_registered"))
    hooks(HookType.BEFORE_CREATE, UserSession, recorder(log, "before_create"), priority=999)
    hooks(HookType.AFTER_SAVE, UserSession, recorder(log, "after_save"))
    hooks(HookType.BEFORE_UPDATE, UserSession, recorder(log, "before_update"))

    session = UserSessionFactory()
    assert [name for name, *_ in log] == [
        "before_create",  # create hooks before save hooks, whatever their priority
        "save_early",
        "save_first_registered",
        "save_second_registered",
        "save_late",
        "after_save",
        "after_create",
    ]
    assert log[0][2] == {"created": True, "update_fields": None}
    log.clear()
    session.save(update_fields=["user_agent"])
    assert log[0][0] == "before_update"
    assert log[0][2] == {"created": False, "update_fields": ["user_agent"]}
    assert [h.qualname for h in hook_registry.get_hooks("before_save", UserSession)] == [
        "recorder_save_early",
        "recorder_save_first_registered",
        "recorder_save_second_registered",
        "recorder_save_late",
    ]


def test_before_hook_returning_fields_extends_update_fields(hooks):
    def touch_agent(session, **context):
        session.user_agent = "set by hook"
        return ["user_agent"]

    hooks(HookType.BEFORE_UPDATE, UserSession, touch_agent)
    session = UserSessionFactory(user_agent="original")
    session.ip_address = "192.0.2.99"
    session.save(update_fields=["ip_address"])
    session.refresh_from_db()
    assert (session.ip_address, session.user_agent) == ("192.0.2.99", "set by hook")


# Abort
# ----------------------------------------------------------------------------------------------------


def veto(instance, **context):
    raise RuntimeError("vetoed")


def test_raising_before_create_writes_nothing(hooks):
    user = UserFactory()
    hooks(HookType.BEFORE_CREATE, UserSession, veto)
    with pytest.raises(RuntimeError, match="vetoed"):
        UserSession.objects.create(user=user, session_key="x")
    assert not UserSession.objects.filter(user=user).exists()


def test_raising_before_update_writes_nothing(hooks):
    session = UserSessionFactory(user_agent="before")
    hooks(HookType.BEFORE_SAVE, UserSession, veto)
    session.user_agent = "after"
    with pytest.raises(RuntimeError):
        session.save()
    assert UserSession.objects.get(pk=session.pk).user_agent == "before"


def test_raising_before_soft_delete_on_a_cascaded_row_leaves_the_whole_batch_live(hooks):
    org = build_tenant(tickets=2)
    hooks(HookType.BEFORE_SOFT_DELETE, TicketComment, veto)
    with pytest.raises(RuntimeError):
        org.soft_delete()
    assert Organization.objects.filter(pk=org.pk).exists()
    assert Ticket.objects.filter(organization=org).count() == 2
    assert not Ticket.all_objects.filter(organization=org, deleted_at__isnull=False).exists()


def test_raising_before_restore_keeps_the_batch_in_the_trash(hooks):
    ticket = TicketFactory()
    ticket.soft_delete()
    hooks(HookType.BEFORE_RESTORE, TicketComment, veto)
    hooks(HookType.BEFORE_RESTORE, Ticket, veto)
    with pytest.raises(RuntimeError):
        ticket.restore()
    assert Ticket.all_objects.get(pk=ticket.pk).deleted_at is not None


def test_raising_before_delete_aborts_a_hard_delete_cascade(hooks):
    org = build_tenant()
    hooks(HookType.BEFORE_DELETE, TicketAttachment, veto)
    with pytest.raises(RuntimeError), transaction.atomic():  # the collector's own atomic has no savepoint
        org.hard_delete()
    assert Organization.all_objects.filter(pk=org.pk).exists()
    assert TicketAttachment.all_objects.filter(ticket__organization=org).count() == 2


# On commit
# ----------------------------------------------------------------------------------------------------


def test_on_commit_hook_runs_only_after_commit(hooks, django_capture_on_commit_callbacks):
    log = []
    hooks(HookType.AFTER_CREATE, UserSession, recorder(log, "deferred"), on_commit=True)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        session = UserSessionFactory()
        assert log == []  # not yet: the transaction is still open
    assert len(callbacks) == 1
    assert [(name, pk) for name, pk, _ in log] == [("deferred", session.pk)]


def test_on_commit_hook_does_not_run_when_the_write_rolls_back(hooks, django_capture_on_commit_callbacks):
    log = []
    hooks(HookType.AFTER_CREATE, UserSession, recorder(log, "deferred"), on_commit=True)
    user = UserFactory()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ZeroDivisionError),
        transaction.atomic(),
    ):
        UserSession.objects.create(user=user, session_key="rolled-back")
        1 / 0  # noqa: B018
    assert callbacks == [] and log == []


def test_before_hooks_cannot_be_deferred(hooks):
    with pytest.raises(ValueError, match="after-hooks"):
        hooks(HookType.BEFORE_SAVE, UserSession, recorder([], "x"), on_commit=True)


# Error policy
# ----------------------------------------------------------------------------------------------------


def test_log_policy_logs_counts_and_carries_on(hooks, caplog):
    hook = hooks(HookType.AFTER_CREATE, UserSession, veto, on_error=ErrorPolicy.LOG)
    log = []
    hooks(HookType.AFTER_CREATE, UserSession, recorder(log, "next"), priority=500)
    with caplog.at_level(logging.ERROR, logger="models_core.hooks"):
        session = UserSessionFactory()
    assert UserSession.objects.filter(pk=session.pk).exists()
    assert [name for name, *_ in log] == ["next"]  # the hook after the failing one still ran
    assert hook.calls == 1 and hook.failures == 1
    assert hook.last_error == "RuntimeError: vetoed" and hook.last_error_at is not None
    assert "failed" in caplog.text and "veto" in caplog.text


def test_log_policy_database_error_does_not_poison_the_transaction(hooks):
    def bad_sql(instance, **context):
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    hooks(HookType.AFTER_CREATE, UserSession, bad_sql, on_error="log")
    session = UserSessionFactory()
    assert UserSession.objects.filter(pk=session.pk).exists()  # the connection still works


def test_raise_policy_counts_the_failure_and_propagates(hooks):
    hook = hooks(HookType.AFTER_SAVE, UserSession, veto, on_error="raise")
    with pytest.raises(RuntimeError):
        UserSessionFactory()
    assert (hook.calls, hook.failures) == (1, 1)


def test_error_policy_defaults_to_raise_and_is_checked():
    """A Django signal handler's error reaches the caller; a hook without on_error behaves the same."""
    hook = hook_registry.register_hook("before_save", UserSession, recorder([], "x"))
    try:
        assert hook.on_error == "raise"
    finally:
        hook_registry.unregister(hook)
    with pytest.raises(ValueError, match="on_error"):
        hook_registry.register_hook("before_save", UserSession, recorder([], "x"), on_error="ignore")


@pytest.mark.parametrize(
    ("hook_type", "model", "func", "error"),
    [
        ("before_frobnicate", UserSession, recorder([], "x"), ValueError),
        ("before_save", Organization.__mro__[1], recorder([], "x"), TypeError),  # abstract base
        ("before_save", "auth.Group", recorder([], "x"), TypeError),  # no ModelHooksMixin
        ("before_save", UserSession, lambda instance: None, TypeError),  # no **context
    ],
)
def test_registration_refuses_what_could_never_run(hook_type, model, func, error):
    with pytest.raises(error):
        hook_registry.register_hook(hook_type, model, func, on_error="raise")


def test_the_instance_parameter_may_not_shadow_a_context_name():
    def hook(user, **context):
        pass

    with pytest.raises(TypeError, match="first parameter"):
        hook_registry.register_hook("after_restore", User, hook, on_error="log")


# Provenance and statistics
# ----------------------------------------------------------------------------------------------------


def test_provenance_of_a_real_hook():
    from models_core import helpdesk_hooks

    (hook,) = [h for h in hook_registry.get_hooks("before_save", Ticket) if "resolved_at" in h.qualname]
    assert hook.module == "models_core.helpdesk_hooks"
    assert hook.qualname == "ticket_stamp_resolved_at"
    assert hook.file == "models_core/helpdesk_hooks.py"
    source_lines = Path(helpdesk_hooks.__file__).read_text().splitlines()
    assert "def ticket_stamp_resolved_at" in source_lines[hook.line - 1]
    assert hook.doc.startswith("Stamp `resolved_at`")
    assert hook.priority == 20 and hook.on_error == "raise" and not hook.on_commit
    assert len(hook.source_hash) == 64
    assert hook.key == "models_core.Ticket:before_save:models_core.helpdesk_hooks.ticket_stamp_resolved_at"


def test_statistics_count_calls_and_durations(hooks):
    hook = hooks(HookType.BEFORE_SAVE, UserSession, recorder([], "counted"))
    session = UserSessionFactory()
    session.save()
    session.save()
    assert hook.calls == 3 and hook.failures == 0
    assert hook.total_ns >= hook.max_ns > 0


def test_reregistering_the_same_function_replaces_it_in_place(hooks):
    func = recorder([], "same")
    first = hooks(HookType.BEFORE_SAVE, UserSession, func)
    hooks(HookType.BEFORE_SAVE, UserSession, recorder([], "other"))
    second = hooks(HookType.BEFORE_SAVE, UserSession, func)
    assert [h.qualname for h in hook_registry.get_hooks("before_save", UserSession)] == [
        "recorder_same",
        "recorder_other",
    ]
    assert second.seq == first.seq


# Soft delete, restore and hard delete: cascades and QuerySet.delete()
# ----------------------------------------------------------------------------------------------------


def _statements_of(action):
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries)


def test_cascade_without_hooks_keeps_its_statement_count(hooks):
    """Organization delete cascades set-based; hooks on models the cascade does not fire for add nothing."""
    baseline = _statements_of(lambda: build_tenant(tickets=3).soft_delete())
    bigger = _statements_of(lambda: build_tenant(tickets=30).soft_delete())
    hooks(HookType.AFTER_SAVE, TicketAttachment, recorder([], "unrelated"))  # not a soft-delete event
    with_unrelated = _statements_of(lambda: build_tenant(tickets=3).soft_delete())
    # build_tenant's own inserts grow with the tenant; measure only the delete
    org_small, org_big = build_tenant(tickets=3), build_tenant(tickets=30)
    small = _statements_of(org_small.soft_delete)
    big = _statements_of(org_big.soft_delete)
    assert small == big
    assert baseline < bigger and with_unrelated == baseline
    hooks(HookType.BEFORE_RESTORE, TicketAttachment, recorder([], "unrelated2"))
    assert _statements_of(build_tenant(tickets=3).soft_delete) == small


def test_cascaded_rows_reach_before_and_after_hooks(hooks):
    org = build_tenant(tickets=3, comments_per_ticket=2)
    before, after = [], []
    hooks(HookType.BEFORE_SOFT_DELETE, TicketComment, recorder(before, "before"))
    hooks(HookType.AFTER_SOFT_DELETE, TicketComment, recorder(after, "after"))
    seen_deleted = []

    def check_state(ticket, **context):
        seen_deleted.append((ticket.deleted_at is not None, context["cascaded"]))

    hooks(HookType.AFTER_SOFT_DELETE, Ticket, check_state)
    comments = set(TicketComment.objects.filter(ticket__organization=org).values_list("pk", flat=True))
    result = org.soft_delete(reason="tenant left")
    assert {pk for _, pk, _ in before} == comments == {pk for _, pk, _ in after}
    assert len(before) == len(after) == 6
    assert all(ctx["cascaded"] and ctx["batch_id"] == result.batch_id for *_, ctx in after)
    assert all(ctx["reason"] == "tenant left" for *_, ctx in before)
    assert seen_deleted == [(True, True)] * 3


def test_queryset_delete_fires_soft_delete_hooks_on_the_roots(hooks):
    log = []
    hooks(HookType.BEFORE_SOFT_DELETE, Ticket, recorder(log, "before"))
    org = OrganizationFactory()
    tickets = TicketFactory.create_batch(3, organization=org)
    Ticket.objects.filter(organization=org).delete()
    assert sorted(pk for _, pk, _ in log) == sorted(t.pk for t in tickets)
    assert all(ctx["cascaded"] is False for *_, ctx in log)


def test_instance_soft_delete_and_restore_hand_over_the_callers_instance(hooks):
    seen = []

    def remember(ticket, **context):
        seen.append((ticket, ticket.deleted_at is not None))

    hooks(HookType.BEFORE_SOFT_DELETE, Ticket, remember)
    hooks(HookType.AFTER_SOFT_DELETE, Ticket, remember)
    hooks(HookType.BEFORE_RESTORE, Ticket, remember)
    hooks(HookType.AFTER_RESTORE, Ticket, remember)
    ticket = TicketFactory()
    ticket.soft_delete()
    ticket.restore()
    assert [s[0] is ticket for s in seen] == [True] * 4
    assert [s[1] for s in seen] == [False, True, True, False]


def test_batch_restore_fires_restore_hooks_on_every_row_of_the_batch(hooks):
    org = build_tenant(tickets=2)
    result = org.soft_delete()
    before, after = [], []
    hooks(HookType.BEFORE_RESTORE, TicketAttachment, recorder(before, "before"))
    hooks(HookType.AFTER_RESTORE, TicketAttachment, recorder(after, "after"))
    batch_restore(result.batch_id)
    expected = set(TicketAttachment.objects.filter(ticket__organization=org).values_list("pk", flat=True))
    assert len(expected) == 4
    assert {pk for _, pk, _ in before} == {pk for _, pk, _ in after} == expected


def test_hard_delete_cascade_fires_delete_hooks_for_hooked_models_only(hooks):
    org = build_tenant(tickets=2)
    ticket_ids = set(Ticket.all_objects.filter(organization=org).values_list("pk", flat=True))
    before, after = [], []
    hooks(HookType.BEFORE_DELETE, Ticket, recorder(before, "before"))
    hooks(HookType.AFTER_DELETE, Ticket, recorder(after, "after"))
    org.hard_delete()
    assert {pk for _, pk, _ in before} == ticket_ids
    assert len(after) == 2
    assert not Ticket.all_objects.filter(pk__in=ticket_ids).exists()


def test_plain_model_queryset_delete_fires_delete_hooks(hooks):
    log = []
    hooks(HookType.BEFORE_DELETE, UserSession, recorder(log, "before"))
    sessions = UserSessionFactory.create_batch(2)
    UserSession.objects.filter(pk__in=[s.pk for s in sessions]).delete()
    assert sorted(pk for _, pk, _ in log) == sorted(s.pk for s in sessions)


def test_unregistering_the_last_delete_hook_restores_fast_delete(hooks):
    from django.db.models.signals import pre_delete

    hook = hooks(HookType.BEFORE_DELETE, UserSession, recorder([], "x"))
    assert pre_delete.has_listeners(UserSession)
    hook_registry.unregister(hook)
    assert not pre_delete.has_listeners(UserSession)


# Bypasses
# ----------------------------------------------------------------------------------------------------


@pytest.fixture
def bypasses():
    hook_registry.stats_take()  # start from zero
    yield lambda: {k: tuple(v) for k, v in stats_buffer.bypasses.items()}
    hook_registry.stats_take()


def test_bulk_writes_are_counted_per_model(bypasses):
    user = UserFactory()
    sessions = UserSession.objects.bulk_create(
        [UserSession(user=user, session_key=f"k{i}") for i in range(3)]
    )
    UserSession.objects.filter(user=user).update(user_agent="bulk")
    for session in sessions:
        session.ip_address = "192.0.2.1"
    UserSession.objects.bulk_update(sessions, ["ip_address"])
    assert bypasses() == {
        ("models_core.UserSession", "bulk_create"): (1, 3),
        ("models_core.UserSession", "update"): (1, 3),
        ("models_core.UserSession", "bulk_update"): (1, 3),  # counted once, not also as update()
    }


def test_saves_and_soft_delete_internals_are_not_bypasses(bypasses):
    ticket = TicketFactory()
    ticket.save()
    baseline = bypasses()
    ticket.soft_delete()
    ticket.restore()
    after = bypasses()
    assert {k: v for k, v in after.items() if k[0] == "models_core.Ticket"} == {
        k: v for k, v in baseline.items() if k[0] == "models_core.Ticket"
    }


def test_users_soft_delete_switching_sessions_off_is_a_visible_bypass(bypasses):
    user = UserFactory()
    UserSessionFactory(user=user)
    user.soft_delete()
    assert bypasses()[("models_core.UserSession", "update")] == (1, 1)


def test_knowledge_base_article_is_hooked_through_the_base_class():
    assert any(
        h.qualname == "article_slug_from_title"
        for h in hook_registry.get_hooks("before_save", KnowledgeBaseArticle)
    )
