from django.urls import path

from cases import views

app_name = "cases"
urlpatterns = [
    path("my/", views.my_cases, name="my_cases"),
    path("new/", views.case_new, name="case_new"),
    path("<int:case_id>/", views.case_detail, name="case_detail"),
    path("<int:case_id>/withdraw/", views.case_withdraw, name="case_withdraw"),
    path("library/", views.library, name="library"),
    path("quarantine/", views.quarantine, name="quarantine"),
    path("quarantine/<int:item_id>/discard/", views.quarantine_discard, name="quarantine_discard"),
    path("audit/", views.audit_log, name="audit_log"),
]
