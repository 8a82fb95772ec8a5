from django.contrib import admin

from pacs_bridge.models import PacsNode


@admin.register(PacsNode)
class PacsNodeAdmin(admin.ModelAdmin):
    list_display = ("name", "ae_title", "host", "port", "retrieve_method", "enabled")
    list_filter = ("retrieve_method", "enabled")
    search_fields = ("name", "ae_title", "host")
