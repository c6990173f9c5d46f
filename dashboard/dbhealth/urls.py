from django.urls import path

from dashboard.dbhealth import views

app_name = "dbhealth"
urlpatterns: list = [
    path("", views.index_usage_view, name="index_usage"),
    path("snapshot/", views.snapshot_take_view, name="snapshot"),
    path("violations/", views.violations_view, name="violations"),
    path("violations/check/", views.constraint_check_view, name="constraint_check"),
]
