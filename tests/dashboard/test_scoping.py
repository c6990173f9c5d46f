import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from dashboard.scoping import (
    get_object_in_scope,
    is_in_scope,
    is_platform_staff,
    scope_to_organization,
    staff_permission_required,
)
from models_core.models import Organization, User, UserSession
from models_core.tenancy import organization_path
from tests.factories import UserFactory, UserSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(organization, other_organization):
    """Two customers in each organization; they are the rows being scoped."""
    return {
        "ours": {UserFactory(organization=organization).pk for _ in range(2)},
        "theirs": {UserFactory(organization=other_organization).pk for _ in range(2)},
    }


def scoped_ids(user, people) -> set[int]:
    all_people = people["ours"] | people["theirs"]
    return set(
        scope_to_organization(User.objects.filter(pk__in=all_people), user).values_list("pk", flat=True)
    )


def test_organization_staff_see_only_their_organization(make_staff, people):
    assert scoped_ids(make_staff(), people) == people["ours"]


def test_platform_staff_see_every_organization(make_staff, people):
    platform = make_staff(organization=None)
    assert is_platform_staff(platform)
    assert scoped_ids(platform, people) == people["ours"] | people["theirs"]


def test_anonymous_non_staff_and_inactive_see_nothing(make_staff, people, organization):
    assert scoped_ids(AnonymousUser(), people) == set()
    assert scoped_ids(UserFactory(organization=None, is_staff=False), people) == set()
    assert scoped_ids(make_staff(organization=None, is_active=False), people) == set()
    assert not is_platform_staff(UserFactory(organization=None, is_staff=False))


def test_scope_follows_the_models_declared_path(make_staff, organization, other_organization):
    ours = UserSessionFactory(user=UserFactory(organization=organization))
    UserSessionFactory(user=UserFactory(organization=other_organization))
    assert UserSession.organization_path == "user__organization"
    assert list(scope_to_organization(UserSession.objects.all(), make_staff())) == [ours]
    # The organization itself ("pk").
    assert list(scope_to_organization(Organization.objects.all(), make_staff())) == [organization]


def test_a_model_that_declares_no_organization_is_platform_only(make_staff):
    from dashboard.hooks.models import HookStat

    HookStat.objects.create(key="k", model_label="models_core.Ticket", hook_type="before_save", name="h")
    assert organization_path(HookStat) is None
    assert not scope_to_organization(HookStat.objects.all(), make_staff()).exists()
    assert scope_to_organization(HookStat.objects.all(), make_staff(organization=None)).count() == 1


PROJECT_APPS = {"models_core", "dashboard", "trash", "validation", "dbhealth", "hooks"}


# Scoped by who started or asked for them (you follow your own runs, download your own files, confirm your
# own uploads), not by their organization.
REQUESTER_SCOPED = {"dashboard.JobRun", "dashboard.ExportFile", "dataio.ImportUpload"}


def test_every_model_of_the_project_either_declares_its_organization_or_is_platform_only():
    """One line per model: a model with an organization relation must say how its rows reach it."""
    from django.apps import apps

    for model in apps.get_models():
        if model._meta.app_label not in {
            "models_core",
            "dashboard",
            "trash",
            "validation",
            "dbhealth",
            "hooks",
            "dataio",
        }:
            continue
        names = {f.name for f in model._meta.get_fields()}
        path = organization_path(model)
        if path is not None:
            first = path.split("__")[0]
            assert (
                first == "pk" or first in names or first in {f.attname for f in model._meta.concrete_fields}
            )
        elif "organization" in names or "organization_id" in names:
            assert model._meta.label in REQUESTER_SCOPED, model


def test_is_in_scope(make_staff, organization, other_organization):
    ours, theirs = UserFactory(organization=organization), UserFactory(organization=other_organization)
    viewer = make_staff()
    assert is_in_scope(viewer, ours) and not is_in_scope(viewer, theirs)
    assert is_in_scope(make_staff(organization=None), theirs)
    assert not is_in_scope(AnonymousUser(), ours) and not is_in_scope(viewer, None)


def test_get_object_in_scope(make_staff, people):
    viewer = make_staff()
    own_id = next(iter(people["ours"]))
    other_id = next(iter(people["theirs"]))
    assert get_object_in_scope(User.objects.all(), viewer, own_id).pk == own_id
    for bad in (other_id, 10**12, "abc", None):
        with pytest.raises(Http404):
            get_object_in_scope(User.objects.all(), viewer, bad)
    assert get_object_in_scope(User.objects.all(), make_staff(organization=None), other_id).pk == other_id


@staff_permission_required("dashboard.view_trash")
def trash_view(request):
    return HttpResponse("trash")


def test_staff_permission_required(make_staff, dba):
    view = trash_view

    factory = RequestFactory()

    def call(user):
        request = factory.get("/trash/?page=2")
        request.user = user
        return view(request)

    for outsider in (AnonymousUser(), UserFactory(is_staff=False)):
        response = call(outsider)
        assert response.status_code == 302
        assert response["Location"] == "/login/?next=/trash/%3Fpage%3D2"

    with pytest.raises(PermissionDenied):
        call(dba)  # staff, but DBAs may not view the trash

    assert call(make_staff("Support managers")).content == b"trash"
    assert call(make_staff(None, organization=None, is_superuser=True)).content == b"trash"


@staff_permission_required("dashboard.view_dbhealth", platform_only=True)
def health_view(request):
    return HttpResponse("health")


def test_platform_only_pages_refuse_organization_bound_staff_even_with_the_permission(make_staff, dba):
    def call(user):
        request = RequestFactory().get("/health/")
        request.user = user
        return health_view(request)

    assert call(dba).content == b"health"  # the DBA demo user: platform staff
    with pytest.raises(PermissionDenied):
        call(make_staff("DBAs"))  # same group, bound to an organization
