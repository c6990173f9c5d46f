"""Statistics flushes add up (also from two real processes), failures keep counts, resets."""

import datetime
import os
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from dashboard.hooks.models import HookBypass, HookStat
from dashboard.hooks.services import (
    HookStatNotFound,
    hook_stats_flush,
    hook_stats_reset,
    hook_stats_write,
)
from models_core.hooks import HookStatsDelta, HookType
from models_core.hooks import registry as hook_registry
from models_core.models import KnowledgeBaseArticle, UserSession
from tests.factories import KnowledgeBaseArticleFactory, OrganizationFactory, UserSessionFactory

SLUG_HOOK_KEY = (
    "models_core.KnowledgeBaseArticle:before_save:models_core.helpdesk_hooks.article_slug_from_title"
)


def delta(key="m:before_save:x.f", calls=1, failures=0, total=10, maximum=10, error="", at=None, source="a"):
    return HookStatsDelta(
        key,
        "models_core.UserSession",
        "before_save",
        "x.f",
        source,
        calls,
        failures,
        total,
        maximum,
        error,
        at,
    )


@pytest.mark.django_db
def test_writes_add_deltas_keep_the_maximum_the_newest_error_and_the_first_source():
    t1 = timezone.now()
    hook_stats_write([delta(calls=3, failures=1, total=30, maximum=20, error="E1", at=t1)], {})
    hook_stats_write([delta(calls=2, total=5, maximum=4, source="b")], {})
    hook_stats_write(
        [delta(calls=1, failures=1, total=7, maximum=7, error="E0", at=t1 - datetime.timedelta(1))], {}
    )
    stat = HookStat.objects.get()
    assert (stat.calls, stat.failures, stat.total_ns, stat.max_ns) == (6, 2, 42, 20)
    assert (stat.last_error, stat.last_error_at) == ("E1", t1)
    assert stat.source_hash == "a"  # what the statistics began with


@pytest.mark.django_db
def test_bypass_counters_add_up():
    hook_stats_write([], {("models_core.Ticket", "update"): (2, 50)})
    hook_stats_write(
        [], {("models_core.Ticket", "update"): (1, 5), ("models_core.Ticket", "bulk_create"): (1, 9)}
    )
    assert sorted(HookBypass.objects.values_list("operation", "operations", "rows")) == [
        ("bulk_create", 1, 9),
        ("update", 3, 55),
    ]


@pytest.mark.django_db
def test_flush_is_a_few_statements_whatever_the_number_of_hooks(hooks, django_assert_max_num_queries):
    for i in range(20):

        def noop(instance, **context):
            pass

        noop.__qualname__ = f"noop_{i}"
        hooks(HookType.BEFORE_SAVE, UserSession, noop)
    session = UserSessionFactory()
    for _ in range(5):
        session.save()
    UserSession.objects.filter(pk=session.pk).update(user_agent="x")
    with django_assert_max_num_queries(4):  # savepoint, two upserts, release
        assert hook_stats_flush() == 20
    assert HookStat.objects.filter(name__contains="noop_").count() == 20
    assert set(HookStat.objects.filter(name__contains="noop_").values_list("calls", flat=True)) == {6}
    assert HookBypass.objects.get(model_label="models_core.UserSession", operation="update").rows == 1
    assert hook_stats_flush() == 0  # nothing left in memory


@pytest.mark.django_db
def test_failed_flush_keeps_the_counts_for_the_next_one(hooks):
    def noop(instance, **context):
        pass

    hook = hooks(HookType.BEFORE_SAVE, UserSession, noop)
    UserSessionFactory()

    def broken(deltas, bypasses):
        raise ConnectionError("database went away")

    hook_registry.set_stats_flusher(broken)
    try:
        assert hook_stats_flush() == 0
    finally:
        hook_registry.set_stats_flusher(hook_stats_write)
    assert hook.calls == 1
    hook_stats_flush()
    assert HookStat.objects.get(key=hook.key).calls == 1


@pytest.mark.django_db
def test_reset_one_hook_restarts_it_with_the_current_source(platform_superuser):
    KnowledgeBaseArticleFactory(slug="")
    hook_stats_flush()
    HookStat.objects.filter(key=SLUG_HOOK_KEY).update(source_hash="old")
    assert hook_stats_reset(platform_superuser, SLUG_HOOK_KEY) == 1
    stat = HookStat.objects.get(key=SLUG_HOOK_KEY)
    assert (stat.calls, stat.reset_by, stat.last_error) == (0, platform_superuser, "")
    assert stat.source_hash != "old" and len(stat.source_hash) == 64


@pytest.mark.django_db
def test_reset_all_clears_bypasses_and_removes_statistics_of_unregistered_hooks(platform_superuser):
    hook_stats_write([delta(key="gone:before_save:old.hook")], {("models_core.Ticket", "update"): (1, 1)})
    count = hook_stats_reset(platform_superuser)
    assert count == len(hook_registry.all_hooks())
    assert not HookStat.objects.filter(key="gone:before_save:old.hook").exists()
    assert not HookBypass.objects.exists()
    assert HookStat.objects.filter(calls=0, reset_by=platform_superuser).count() == count


@pytest.mark.django_db
def test_reset_of_an_unknown_hook_is_refused(platform_superuser):
    hook_stats_write([delta(key="gone:before_save:old.hook")], {})
    hook_stats_reset(platform_superuser, "gone:before_save:old.hook")  # an orphan: removed
    with pytest.raises(HookStatNotFound):
        hook_stats_reset(platform_superuser, "gone:before_save:old.hook")


WORKER = textwrap.dedent(
    """
    import django
    django.setup()
    from django.conf import settings
    import models_core.hooks.stats as hook_stats
    from models_core.models import KnowledgeBaseArticle, Organization

    # Flush automatically as production does (every 3 calls), and the rest at exit.
    settings.CUSTODIAN_HOOK_STATS_AUTOFLUSH = True
    hook_stats.FLUSH_EVERY_CALLS = 3
    org = Organization.objects.get(pk={org_id})
    for i in range(7):
        KnowledgeBaseArticle.objects.create(organization=org, title="{tag} article %d" % i, slug="")
    KnowledgeBaseArticle.objects.filter(organization=org, title__startswith="{tag}").update(content="bulk")
    """
)


@pytest.mark.django_db(transaction=True)
def test_statistics_from_two_processes_add_up():
    org = OrganizationFactory()
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER.format(org_id=org.pk, tag=tag)],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for tag in ("first", "second")
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, output
    assert KnowledgeBaseArticle.objects.filter(organization=org).count() == 14
    stat = HookStat.objects.get(key=SLUG_HOOK_KEY)
    assert (stat.calls, stat.failures) == (14, 0)
    assert stat.max_ns > 0 and stat.total_ns >= stat.max_ns
    bypass = HookBypass.objects.get(model_label="models_core.KnowledgeBaseArticle", operation="update")
    assert (bypass.operations, bypass.rows) == (2, 14)
