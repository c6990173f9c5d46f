app_name = "trash"
urlpatterns: list = []
