from django.urls import path
from django.views.generic import RedirectView

from dashboard.dbhealth import views
from dashboard.dbhealth.advisor import views as advisor_views

app_name = "dbhealth"
urlpatterns: list = [
    # Each page has its own path so the sidebar highlights only the page that is open.
    path("", RedirectView.as_view(pattern_name="dashboard:dbhealth:index_usage"), name="home"),
    path("indexes/", views.index_usage_view, name="index_usage"),
    # Names travel in the query string: an index or table name may hold any character, "/" included.
    path("indexes/index/", views.index_detail_view, name="index_detail"),
    path("snapshot/", views.snapshot_take_view, name="snapshot"),
    path("violations/", views.violations_view, name="violations"),
    path("violations/check/", views.constraint_check_view, name="constraint_check"),
    path("advisor/", advisor_views.advisor_view, name="advisor"),
    path("advisor/run/", advisor_views.advisor_run_view, name="advisor_run"),
    path("advisor/<int:advice_id>/dismiss/", advisor_views.advice_dismiss_view, name="advice_dismiss"),
    path(
        "advisor/dismissals/<int:dismissal_id>/revoke/",
        advisor_views.advice_dismissal_revoke_view,
        name="advice_dismissal_revoke",
    ),
]
