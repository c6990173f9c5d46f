from django.urls import path

from dashboard.dataio import views

# Included by dashboard.urls without a namespace of its own (names dashboard:dataio_upload...): the import
# pages themselves are the helpdesk admin's (models_core/<model>/import/).
urlpatterns: list = [
    path("<int:upload_id>/", views.import_upload_view, name="dataio_upload"),
    path("<int:upload_id>/confirm/", views.import_upload_confirm_view, name="dataio_upload_confirm"),
]
