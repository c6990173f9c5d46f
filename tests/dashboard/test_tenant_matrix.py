"""The tenant matrix: every URL of the site, as every role, with another organization's ids.

The URL conf is walked, so a page added later falls in by itself; a URL parameter the matrix cannot fill
fails the test (teach `fill` its name). Every GET (and the filters, search and autocomplete variants of
each admin changelist) as an organization-bound user answers 4xx or shows nothing of the other
organization: none of its names, contents or (deliberately unusual) ids. Every POST with the other
organization's ids changes none of its rows.

One data set is built per module inside a transaction that is rolled back at the end; each test runs in a
savepoint of it, so the matrix costs one setup, not one per URL.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from dashboard.dataio.models import ImportPreviewRow, ImportUpload
from dashboard.exports.models import ExportFile, ExportFilePart
from dashboard.jobs.models import JobRun
from dashboard.trash.models import PurgeRecord
from dashboard.validation.models import ValidationScan, Waiver
from models_core.models import Organization, PendingFileRemoval, Ticket, User
from tests.conftest import ensure_staff_groups
from tests.factories import (
    CustomerFactory,
    KnowledgeBaseArticleFactory,
    OrganizationFactory,
    SLAPolicyFactory,
    TicketAttachmentFactory,
    TicketCommentFactory,
    TicketFactory,
    UserFactory,
    UserPermissionFactory,
    UserSessionFactory,
)

# Everything of the other organization carries a word or an id nobody else has.
SECRETS = ("Globexian", "Quarrington", "Zeppelin-subject", "Xylophone-comment", "Kumquat-article")
BASE_ID = 970_000


def _foreign_world() -> dict[str, Any]:
    """Organization "Globexian Corp" with one row of every kind, ids from BASE_ID, and a trashed ticket."""
    ids = iter(range(BASE_ID + 1, BASE_ID + 100))
    org = OrganizationFactory(id=next(ids), name="Globexian Corp", slug="globexian")
    agent = UserFactory(
        id=next(ids), organization=org, username="quarrington", first_name="Ulla", last_name="Quarrington",
        is_staff=True,
    )  # fmt: skip
    customer = CustomerFactory(id=next(ids), organization=org, username="globexian-customer")
    ticket = TicketFactory(
        id=next(ids), organization=org, customer=customer, assigned_agent=agent, subject="Zeppelin-subject"
    )
    comment = TicketCommentFactory(id=next(ids), ticket=ticket, author=agent, content="Xylophone-comment")
    world = {
        "organization": org,
        "user": agent,
        "customer": customer,
        "ticket": ticket,
        "ticketcomment": comment,
        "ticketattachment": TicketAttachmentFactory(id=next(ids), ticket=ticket, filename="globexian.png"),
        "knowledgebasearticle": KnowledgeBaseArticleFactory(
            id=next(ids), organization=org, author=agent, title="Kumquat-article", slug="kumquat"
        ),
        "slapolicy": SLAPolicyFactory(id=next(ids), organization=org, name="Globexian SLA"),
        "usersession": UserSessionFactory(id=next(ids), user=agent),
        "userpermission": UserPermissionFactory(id=next(ids), user=agent, permission="globexian.perm"),
    }
    trashed = TicketFactory(id=next(ids), organization=org, customer=customer, subject="Zeppelin-subject 2")
    trashed.soft_delete(user=agent, reason="Globexian reason")
    world["trashed"] = Ticket.all_objects.get(pk=trashed.pk)
    world["jobrun"] = JobRun.objects.create(
        id=next(ids), kind="validation_scan", started_by=agent, organization=org, result={"n": BASE_ID}
    )
    world["scan"] = ValidationScan.objects.create(
        id=next(ids), started_by=agent, status=ValidationScan.Status.FAILED, error="Globexian failure"
    )
    world["waiver"] = Waiver.objects.create(
        id=next(ids), model_label="models_core.ticket", rule_name="subject_not_blank", object_id=ticket.pk,
        organization=org, reason="Globexian waiver", expires_at=timezone.now() + datetime.timedelta(days=9),
        created_by=agent,
    )  # fmt: skip
    world["purgerecord"] = PurgeRecord.objects.create(
        id=next(ids), model_label="models_core.Ticket", object_id=str(BASE_ID), organization_id=org.pk,
        reason="Globexian purge",
    )  # fmt: skip
    world["pendingfileremoval"] = PendingFileRemoval.objects.create(
        id=next(ids), field="models_core.TicketAttachment.file", name="attachments/Quarrington.png",
        organization_id=org.pk, purge_token=uuid.uuid4(), attempts=1, last_error="Globexian error",
    )  # fmt: skip
    world["importupload"] = ImportUpload.objects.create(
        id=next(ids), model_label="models_core.ticket", format_key="csv",
        resource_path="dashboard.dataio.resources.TicketResource", original_file_name="globexian.csv",
        data=b"subject\nZeppelin-import", row_count=1,
        status=ImportUpload.Status.REFUSED, uploaded_by=agent, organization=org, error_columns={"subject": 1},
    )  # fmt: skip
    ImportPreviewRow.objects.create(
        upload=world["importupload"], number=1, import_type="invalid", cells=[["", "Zeppelin-import"]],
        errors=[["subject", "Globexian error"]],
    )  # fmt: skip
    world["exportfile"] = ExportFile.objects.create(
        id=next(ids), source="trash", query="format=csv", format_key="csv", file_name="globexian-trash.csv",
        status=ExportFile.Status.READY, rows=1, size_bytes=15, requested_by=agent, organization=org,
    )  # fmt: skip
    ExportFilePart.objects.create(export=world["exportfile"], number=1, data=b"Zeppelin-subject")
    return world


def _home_world() -> dict[str, User]:
    """The viewers: Acme Support's manager, admin and an account in every group; platform DBA."""
    ensure_staff_groups()
    from django.contrib.auth.models import Group, Permission

    groups = {g.name: g for g in Group.objects.all()}
    acme = OrganizationFactory(name="Acme Support", slug="acme")
    TicketFactory(organization=acme, subject="our own ticket")

    def staff(name, organization, *group_names, **extra):
        user = UserFactory(username=name, organization=organization, is_staff=True, **extra)
        user.groups.set([groups[n] for n in group_names])
        return user

    everything = staff("everything", acme, "Support managers", "Admins", "DBAs")
    everything.user_permissions.set(Permission.objects.all())  # every right there is, yet bound to Acme
    return {
        "manager": staff("manager", acme, "Support managers"),
        "admin": staff("admin", acme, "Admins"),
        "everything": everything,
        "dba": staff("dba", None, "DBAs"),
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        data = {"foreign": _foreign_world(), "viewers": _home_world()}
        data["fingerprint"] = _fingerprint(data["foreign"]["organization"])
        yield data
        transaction.set_rollback(True)


# "everything" holds every group and every permission there is, bound to Acme: it reaches every page an
# Admin or a manager reaches and more; "manager" walks the view-only paths; "dba" is platform staff.
ORG_BOUND = ("manager", "everything")


def _fingerprint(org: Organization) -> list:
    """Every stored value of the other organization's rows (what a POST must not change)."""
    rows = []
    for model in admin.site._registry:
        if model._meta.app_label != "models_core":
            continue
        path = getattr(model, "organization_path", None)
        manager = getattr(model, "all_objects", model._default_manager)
        query = manager.filter(**{path: org.pk}) if path else manager.none()
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "last_login"]
        rows.append((model._meta.label, sorted(query.values_list(*fields))))
    org_user_ids = User.all_objects.filter(organization=org).values_list("pk", flat=True)
    rows.append(
        ("groups", sorted(User.groups.through.objects.filter(user_id__in=org_user_ids).values_list()))
    )
    return rows


# Walking the URL conf
# ----------------------------------------------------------------------------------------------------


def _patterns(resolver: URLResolver, prefix: str = "", namespace: str = "") -> list[tuple[str, str, Any]]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += _patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            found.append((prefix + str(entry.pattern), f"{namespace}{entry.name or ''}", entry))
    return found


ALL_PATTERNS = _patterns(get_resolver())


def _admin_model(name: str) -> type[models.Model] | None:
    for model in admin.site._registry:
        label = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(label):
            return model
    return None


def _foreign_object(world: dict, model: type[models.Model] | None) -> Any:
    if model is None:
        return None
    return world["foreign"].get(model._meta.model_name)


def fill(name: str, route: str, world: dict) -> list[str]:
    """Concrete URLs for one pattern with the other organization's ids ([] for patterns nobody visits)."""
    foreign = world["foreign"]
    if route.startswith("^") or route.endswith("(?P<url>.*)$") or name == "admin:app_list":
        # The admin's catch-all and the app index (regexes): visited with a real app label below.
        return ["/models_core/"] if name == "admin:app_list" else []
    model = _admin_model(name)
    if "<path:object_id>" in route and name.endswith(("_change", "_history", "_delete")):
        obj = _foreign_object(world, model)
        if obj is None:
            return [route.replace("<path:object_id>", str(BASE_ID + 99))]  # models without a foreign row
        return [route.replace("<path:object_id>", str(obj.pk))]
    if "<path:object_id>" in route:  # the admin's old-style change URL: redirects to the change page
        return []
    values = {
        "<int:job_run_id>": foreign["jobrun"].pk,
        "<str:key>": "models_core.ticket",
        "<str:pk>": foreign["trashed"].pk,
        "<str:model_name>": "ticket",
        "<str:rule_name>": "subject_not_blank",
        "<int:waiver_id>": foreign["waiver"].pk,
        "<int:upload_id>": foreign["importupload"].pk,
        "<int:export_id>": foreign["exportfile"].pk,
        "<id>": foreign["user"].pk,
        "<path:content_type_id>": ContentType.objects.get_for_model(Ticket).pk,
        # DB health's advisor rows belong to no organization (its pages are platform-only): any id.
        "<int:advice_id>": BASE_ID + 98,
        "<int:dismissal_id>": BASE_ID + 98,
    }
    url = route
    if "<path:content_type_id>/<path:object_id>" in url:
        url = url.replace("<path:object_id>", str(foreign["ticket"].pk))
    for key, value in values.items():
        url = url.replace(key, str(value))
    assert "<" not in url, f"The tenant matrix cannot fill {route!r} ({name}): teach fill() its parameter."
    urls = ["/" + url]
    if name.endswith("_changelist") and model is not None:
        urls += _changelist_probes("/" + url, model, foreign)
    if name == "admin:autocomplete":
        urls += _autocomplete_probes(foreign)
    if name == "admin:search":
        urls += [f"/{url}?s=globexian", f"/{url}?s=quarrington&extended=1"]
    if name == "dashboard:trash:retention":
        urls.append(f"/{url}?organization={foreign['organization'].pk}")
    if name == "dashboard:trash:list":
        urls += [
            f"/{url}?organization={foreign['organization'].pk}",
            f"/{url}?deleted_by={foreign['user'].pk}",
        ]
    if name == "dashboard:validation:index":
        urls.append(f"/{url}?scan={foreign['scan'].pk}")
    return urls


def _changelist_probes(url: str, model: type[models.Model], foreign: dict) -> list[str]:
    probes = [f"{url}?q=globexian", f"{url}?q=quarrington", f"{url}?organization__id__exact={BASE_ID + 1}"]
    for field in model._meta.concrete_fields:
        target = foreign.get(field.related_model._meta.model_name) if field.is_relation else None
        if target is not None:
            probes.append(f"{url}?{field.name}__id__exact={target.pk}")
    return probes


def _autocomplete_probes(foreign: dict) -> list[str]:
    probes = []
    for model, model_admin in admin.site._registry.items():
        for field_name in model_admin.autocomplete_fields:
            for term in ("globexian", "quarrington"):
                probes.append(
                    f"/autocomplete/?app_label={model._meta.app_label}&model_name={model._meta.model_name}"
                    f"&field_name={field_name}&term={term}"
                )
    return probes


ROUTES = [(route, name) for route, name, _entry in ALL_PATTERNS]


def _forbidden_words(world: dict) -> list[str]:
    # A validation scan checks every organization and is listed to all; who started it and its error are
    # what must not show (both carry SECRETS).
    foreign = {k: v for k, v in world["foreign"].items() if k != "scan"}
    ids = [str(obj.pk) for obj in foreign.values() if getattr(obj, "pk", None) and obj.pk > BASE_ID]
    return [*SECRETS, *ids]


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("route,name", ROUTES, ids=[n or r for r, n in ROUTES])
@pytest.mark.parametrize("role", [*ORG_BOUND, "dba"])
def test_get_shows_nothing_of_another_organization(world, db, role, route, name):
    viewer = world["viewers"][role]
    urls = fill(name, route, world)
    words = _forbidden_words(world) if role in ORG_BOUND else list(SECRETS[2:])  # DBAs: no customer content
    for url in urls:
        response = _client(viewer).get(url)
        assert response.status_code < 500, url
        if response.status_code >= 400 or response.status_code in (301, 302):
            continue
        body = _body(response)
        # An id the URL itself carries may be echoed (a link keeping the filter); its name may not.
        leaked = [w for w in words if w in body and w not in url]
        assert not leaked, f"{role} sees {leaked} on {url}"


# Replayed POSTs with the other organization's ids
# ----------------------------------------------------------------------------------------------------


def _post_data(world: dict, name: str) -> dict:
    foreign = world["foreign"]
    obj_ids = [str(o.pk) for o in foreign.values() if getattr(o, "pk", None)]
    return {
        "items": [f"models_core.ticket:{foreign['trashed'].pk}", f"models_core.organization:{BASE_ID + 1}"],
        "organization": str(foreign["organization"].pk),
        "object_id": str(foreign["ticket"].pk),
        "reason": "replayed",
        "expires_at": (timezone.now() + datetime.timedelta(days=3)).date().isoformat(),
        "confirmation": "PURGE",
        "post": "yes",
        "action": "delete_selected",
        "_selected_action": obj_ids,
        "key": "",
        "days-default": "1",
        "name": "Taken over",
        "subject": "Taken over",
        "slug": "taken-over",
        "username": "taken-over",
        "email": "taken@example.com",
        "ticket": str(foreign["ticket"].pk),
        "user": str(foreign["user"].pk),
        "customer": str(foreign["customer"].pk),
        "author": str(foreign["user"].pk),
        "content": "Taken over",
        "title": "Taken over",
        "permission": "taken.over",
        "is_staff": "on",
        "is_superuser": "on",
    }


@pytest.mark.parametrize("route,name", ROUTES, ids=[n or r for r, n in ROUTES])
def test_post_with_foreign_ids_changes_nothing_of_another_organization(world, db, route, name):
    viewer = world["viewers"]["everything"]
    data = _post_data(world, name)
    for url in fill(name, route, world):
        response = _client(viewer).post(url.split("?")[0], data)
        assert response.status_code < 500, url
    assert _fingerprint(world["foreign"]["organization"]) == world["fingerprint"], name


def test_the_matrix_reaches_every_page_kind():
    names = [n for _r, n in ROUTES]
    for model in admin.site._registry:
        opts = model._meta
        for action in ("changelist", "add", "change", "history", "delete"):
            assert f"admin:{opts.app_label}_{opts.model_name}_{action}" in names
    assert {
        "admin:autocomplete",
        "admin:search",
        "dashboard:trash:detail",
        "dashboard:job_run_status",
    } <= set(names)
    assert reverse("admin:models_core_ticket_export").startswith("/models_core/")
