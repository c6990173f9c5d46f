from django.urls import path

from dashboard.validation import views

app_name = "validation"
urlpatterns: list = [
    path("", views.validation_overview_view, name="index"),
    path("scans/", views.validation_scan_start_view, name="scan_start"),
    path("rules/<str:model_name>/<str:rule_name>/", views.validation_rule_view, name="rule"),
    path("rules/<str:model_name>/<str:rule_name>/export/", views.validation_rule_export_view, name="export"),
    path(
        "rules/<str:model_name>/<str:rule_name>/waivers/", views.validation_waiver_create_view, name="waive"
    ),
    path("waivers/<int:waiver_id>/revoke/", views.validation_waiver_revoke_view, name="revoke"),
]
