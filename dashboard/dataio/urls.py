from django.urls import path

from dashboard.dataio import views

app_name = "dataio"
urlpatterns: list = [
    path("trash/", views.trash_export_view, name="trash_export"),
    path("index-findings/", views.index_findings_export_view, name="index_findings_export"),
]
