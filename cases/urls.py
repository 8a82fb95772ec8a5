from django.urls import path

from cases import views

app_name = "cases"
urlpatterns = [
    path("my/", views.my_cases, name="my_cases"),
    path("new/", views.case_new, name="case_new"),
    path("<int:case_id>/", views.case_detail, name="case_detail"),
    path("<int:case_id>/withdraw/", views.case_withdraw, name="case_withdraw"),
    path("<int:case_id>/edit/", views.case_edit, name="case_edit"),
    path("<int:case_id>/write/", views.case_write, name="case_write"),
    path("<int:case_id>/publish/", views.case_publish, name="case_publish"),
    path("<int:case_id>/upload/", views.case_upload, name="case_upload"),
    path("<int:case_id>/text/<int:value_id>/", views.free_text_decide, name="free_text_decide"),
    path("<int:case_id>/text/acknowledge/", views.text_acknowledge, name="text_acknowledge"),
    path(
        "<int:case_id>/instances/<int:instance_id>/dicom",
        views.instance_dicom,
        name="instance_dicom",
    ),
    path(
        "<int:case_id>/instances/<int:instance_id>/edits/",
        views.instance_edits,
        name="instance_edits",
    ),
    path(
        "<int:case_id>/instances/<int:instance_id>/confirm/",
        views.instance_confirm,
        name="instance_confirm",
    ),
    path(
        "<int:case_id>/instances/<int:instance_id>/leave-out/",
        views.instance_leave_out,
        name="instance_leave_out",
    ),
    path(
        "<int:case_id>/series/<int:series_id>/confirm/", views.series_confirm, name="series_confirm"
    ),
    path(
        "<int:case_id>/instances/<int:instance_id>/annotations/",
        views.instance_annotations,
        name="instance_annotations",
    ),
    path("<int:case_id>/series/<int:series_id>/crop/", views.series_crop, name="series_crop"),
    path("<int:case_id>/series/<int:series_id>/move/", views.series_move, name="series_move"),
    path(
        "<int:case_id>/series/<int:series_id>/key-image/",
        views.series_key_image,
        name="series_key_image",
    ),
    path(
        "<int:case_id>/published/<int:instance_id>/dicom",
        views.published_dicom,
        name="published_dicom",
    ),
    path("library/", views.library, name="library"),
    path("quarantine/", views.quarantine, name="quarantine"),
    path("quarantine/<int:item_id>/discard/", views.quarantine_discard, name="quarantine_discard"),
    path("audit/", views.audit_log, name="audit_log"),
]
