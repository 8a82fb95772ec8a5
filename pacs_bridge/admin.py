from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from pacs_bridge.models import PacsNode
from pacs_bridge.services import node_echo


@admin.register(PacsNode)
class PacsNodeAdmin(admin.ModelAdmin):
    list_display = ("name", "ae_title", "host", "port", "retrieve_method", "enabled")
    list_filter = ("retrieve_method", "enabled")
    search_fields = ("name", "ae_title", "host")
    actions = ["test_connection"]

    @admin.action(description="Test connection (C-ECHO)")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[PacsNode]) -> None:
        for node in queryset:
            ok, text = node_echo(node=node)
            self.message_user(request, text, messages.SUCCESS if ok else messages.ERROR)
