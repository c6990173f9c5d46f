import pytest

from dashboard.hooks.models import HookStat
from dashboard.hooks.selectors import (
    hook_model_choices,
    hook_registry_groups,
    hook_registry_summary,
    hook_stats_orphans,
)
from dashboard.hooks.services import hook_stats_flush
from models_core.hooks import HookType
from models_core.models import UserSession
from tests.factories import TicketFactory, UserSessionFactory

pytestmark = pytest.mark.django_db


def test_groups_list_hooks_per_model_and_event_in_run_order_with_statistics(django_assert_num_queries):
    TicketFactory()
    hook_stats_flush()
    with django_assert_num_queries(1):
        groups = hook_registry_groups("models_core.Ticket")
    assert [g.hook_type.value for g in groups] == ["before_create", "before_save"]
    before_save = groups[1]
    assert [(r.position, r.hook.qualname) for r in before_save.rows] == [
        (1, "ticket_stamp_resolved_at"),
        (2, "ticket_keep_time_to_first_response"),
        (3, "ticket_flag_sla_breach"),
    ]
    assert all(r.calls == 1 and r.failures == 0 and r.average_ms is not None for r in before_save.rows)
    assert not any(r.source_changed for r in before_save.rows)


def test_a_hook_whose_source_changed_since_its_statistics_began_is_flagged():
    TicketFactory()
    hook_stats_flush()
    HookStat.objects.filter(name__endswith="ticket_stamp_resolved_at").update(source_hash="0" * 64)
    rows = {
        r.hook.qualname: r for g in hook_registry_groups("models_core.Ticket", "before_save") for r in g.rows
    }
    assert rows["ticket_stamp_resolved_at"].source_changed
    assert not rows["ticket_flag_sla_breach"].source_changed
    assert hook_registry_summary(hook_registry_groups("models_core.Ticket"))["changed"] == 1


def test_filter_by_event_across_models(hooks):
    def noop(instance, **context):
        pass

    hooks(HookType.AFTER_RESTORE, UserSession, noop)
    groups = hook_registry_groups(hook_type="after_restore")
    assert {g.model_label for g in groups} == {"models_core.User", "models_core.UserSession"}


def test_orphaned_statistics_are_listed_and_model_choices_cover_every_hooked_model(hooks):
    def temporary(instance, **context):
        pass

    hook = hooks(HookType.BEFORE_SAVE, UserSession, temporary)
    UserSessionFactory()
    hook_stats_flush()
    from models_core.hooks import registry

    registry.unregister(hook)
    assert [s.key for s in hook_stats_orphans()] == [hook.key]
    labels = {label for label, _ in hook_model_choices()}
    assert {"models_core.Ticket", "models_core.UserSession", "models_core.UserPermission"} <= labels
    assert "auth.Group" not in labels
