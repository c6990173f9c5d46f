from django.urls import path

from dashboard.trash import views

app_name = "trash"
urlpatterns: list = [
    path("", views.trash_list_view, name="list"),
    path("restore/", views.trash_restore_view, name="restore"),
    path("choices/organizations/", views.trash_organization_choices_view, name="organization_choices"),
    path("choices/deleters/", views.trash_deleter_choices_view, name="deleter_choices"),
    path("purge/", views.trash_purge_view, name="purge"),
    path("purges/", views.purge_records_view, name="purge_records"),
    path("retention/", views.retention_view, name="retention"),
    path("<str:key>/<str:pk>/", views.trash_detail_view, name="detail"),
]
