"""Joins over live rows (finding 3): `filter_live`, `exclude_live`, `LiveCount`, `live_q`, and a check that
reads the project's code for relation lookups into soft-delete models that go around them.

Peers: django-safedelete's `test_queryset.py::test_exclude_deleted` (an expected failure there: exclude()
across a relation sees the trashed row) and `test_lookups.py` (filtering through a related soft-deleted
model).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db.models import Count, Q

from models_core.live import LiveCount, live_q
from models_core.models import Organization, Ticket
from tests.factories import OrganizationFactory, TicketCommentFactory, TicketFactory, UserFactory


@pytest.fixture
def tenant(db):
    org = OrganizationFactory()
    customer = UserFactory(organization=org)
    live = TicketFactory(organization=org, customer=customer, subject="live")
    gone = TicketFactory(organization=org, customer=customer, subject="gone")
    TicketCommentFactory(ticket=live, content="kept")
    trashed_comment = TicketCommentFactory(ticket=live, content="printer on fire")
    trashed_comment.soft_delete()
    gone.soft_delete()
    return org, live, gone


def test_plain_django_joins_see_the_trash(tenant):
    """What the helpers are for: Django's own joins match through trashed rows."""
    org, _, _ = tenant
    assert Ticket.objects.filter(comments__content="printer on fire").exists()
    assert Organization.objects.annotate(n=Count("tickets")).get(pk=org.pk).n == 2


def test_filter_live_matches_through_live_related_rows_only(tenant):
    org, live, _ = tenant
    assert not Ticket.objects.filter_live(comments__content="printer on fire").exists()
    assert list(Ticket.objects.filter_live(comments__content="kept")) == [live]
    assert list(Organization.objects.filter_live(tickets__subject="live")) == [org]
    assert not Organization.objects.filter_live(tickets__subject="gone").exists()
    # Two hops, both live; and Q objects with OR keep their meaning per branch.
    assert not Organization.objects.filter_live(tickets__comments__content="printer on fire").exists()
    both = Q(tickets__subject="gone") | Q(tickets__comments__content="kept")
    assert list(Organization.objects.filter_live(both).distinct()) == [org]


def test_exclude_live_ignores_trashed_related_rows(tenant):
    """safedelete's expected failure `test_exclude_deleted`, passing here."""
    _, live, _ = tenant
    assert live in Ticket.objects.exclude_live(comments__content="printer on fire")
    assert live not in Ticket.objects.exclude(comments__content="printer on fire")  # plain Django
    assert live not in Ticket.objects.exclude_live(comments__content="kept")


def test_live_count_counts_live_rows(tenant):
    org, live, _ = tenant
    row = Organization.objects.annotate(
        tickets_n=LiveCount("tickets"),
        live_subject=LiveCount("tickets", filter=Q(tickets__subject="live")),
    ).get(pk=org.pk)
    assert (row.tickets_n, row.live_subject) == (1, 1)
    assert Ticket.objects.annotate(n=LiveCount("comments")).get(pk=live.pk).n == 1


def test_live_q_names_every_soft_delete_hop():
    assert live_q(Organization, "tickets__comments__content") == Q(
        tickets__deleted_at__isnull=True, tickets__comments__deleted_at__isnull=True
    )
    assert live_q(Ticket, "status") == Q()


def test_filter_live_refuses_negated_conditions(db):
    with pytest.raises(ValueError, match="exclude_live"):
        Ticket.objects.filter_live(~Q(comments__content="x"))


# The check over the project's code
# ----------------------------------------------------------------------------------------------------

QUERY_CALLS = {
    "filter", "exclude", "get", "annotate", "alias", "aggregate", "values", "values_list", "order_by",
    "Q", "Count", "Sum", "Avg", "Min", "Max", "F", "OuterRef", "get_or_create", "update_or_create",
}  # fmt: skip
# Calls whose positional strings are lookup paths (`get("user")` on a dict is not one).
PATH_ARGUMENT_CALLS = {
    "Count",
    "Sum",
    "Avg",
    "Min",
    "Max",
    "F",
    "OuterRef",
    "values",
    "values_list",
    "order_by",
}
OPT_OUT = "# trash-aware:"
CODE_DIRS = ("models_core", "dashboard", "config", "bench")


def _multi_valued_into_trash() -> set[str]:
    """Lookup names that cross a to-many relation into a soft-delete model ("tickets", "comments", ...)."""
    names = set()
    for model in apps.get_models():
        for rel in model._meta.get_fields():
            target = getattr(rel, "related_model", None)
            if not (rel.is_relation and (rel.one_to_many or rel.many_to_many) and target is not None):
                continue
            if any(f.name == "deleted_at" for f in target._meta.concrete_fields):
                name = rel.name
                if name and not name.endswith("+"):
                    names.add(name)
    return names


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def relation_lookups_around_live() -> list[str]:
    """Every `file:line: lookup` in the project's code that joins a to-many relation into a soft-delete
    model with a plain ORM call, without saying what it does about the trash."""
    names = _multi_valued_into_trash()
    found = []
    root = Path(settings.BASE_DIR)
    for folder in CODE_DIRS:
        for path in sorted((root / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            source = path.read_text()
            lines = source.splitlines()
            for node in ast.walk(ast.parse(source)):
                if not isinstance(node, ast.Call) or _call_name(node) not in QUERY_CALLS:
                    continue
                lookups = [kw.arg for kw in node.keywords if kw.arg]
                if _call_name(node) in PATH_ARGUMENT_CALLS:  # Count("tickets"), values("tickets__id"), ...
                    lookups += [
                        a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                    ]
                for lookup in lookups:
                    parts = lookup.lstrip("-").split("__")
                    hops = [i for i, part in enumerate(parts) if part in names]
                    if not hops or all(parts[i + 1 : i + 2] == ["deleted_at"] for i in hops):
                        continue
                    statement = lines[node.lineno - 1 : (node.end_lineno or node.lineno)]
                    if any(OPT_OUT in line for line in statement):
                        continue
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {lookup}")
    return found


def test_the_projects_relation_lookups_see_live_rows_only():
    """A lookup across a to-many relation into a soft-delete model uses filter_live / exclude_live /
    LiveCount / live_q, or says on its line why the trash does not matter (`# trash-aware: <why>`)."""
    assert relation_lookups_around_live() == []


def test_the_check_finds_a_plain_join(tmp_path, monkeypatch):
    """The check is not vacuous: it flags the finding's own examples."""
    sample = tmp_path / "models_core" / "sample.py"
    sample.parent.mkdir()
    sample.write_text(
        "Ticket.objects.filter(comments__content='x')\n"
        "Organization.objects.annotate(n=Count('tickets'))\n"
        "Ticket.objects.filter_live(comments__content='x')\n"
        "Organization.objects.annotate(n=LiveCount('tickets'))\n"
        "Ticket.objects.exclude(comments__content='x')  # trash-aware: counts every comment on purpose\n"
    )
    monkeypatch.setattr(settings, "BASE_DIR", tmp_path)
    assert relation_lookups_around_live() == [
        "models_core/sample.py:1: comments__content",
        "models_core/sample.py:2: tickets",
    ]
