app_name = "dbhealth"
urlpatterns: list = []
