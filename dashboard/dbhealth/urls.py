from django.urls import path
from django.views.generic import RedirectView

from dashboard.dbhealth import views

app_name = "dbhealth"
urlpatterns: list = [
    # Each page has its own path so the sidebar highlights only the page that is open.
    path("", RedirectView.as_view(pattern_name="dashboard:dbhealth:index_usage"), name="home"),
    path("indexes/", views.index_usage_view, name="index_usage"),
    path("snapshot/", views.snapshot_take_view, name="snapshot"),
    path("violations/", views.violations_view, name="violations"),
    path("violations/check/", views.constraint_check_view, name="constraint_check"),
]
