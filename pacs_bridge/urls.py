from django.urls import path

from pacs_bridge import views

app_name = "pacs_bridge"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("nodes/<int:node_id>/studies/<str:token>/", views.study, name="study"),
    path("import/", views.import_start, name="import_start"),
    path("jobs/<int:job_id>/", views.job, name="job"),
    path("jobs/<int:job_id>/status/", views.job_status, name="job_status"),
    path("jobs/<int:job_id>/retry/", views.job_retry, name="job_retry"),
    path("jobs/<int:job_id>/fetch-missing/", views.job_fetch_missing, name="job_fetch_missing"),
]
