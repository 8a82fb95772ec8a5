from django.contrib import admin
from django.urls import include, path

from teachingfile import views

admin.site.site_header = "Teachingfile administration"
admin.site.site_title = "Teachingfile"

urlpatterns = [
    path("", include("accounts.urls")),
    path("cases/", include("cases.urls")),
    path("pacs/", include("pacs_bridge.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
