import json

from django.contrib import admin
from django.utils.html import format_html

from cases.models import (
    AuditEvent,
    Case,
    ImportJob,
    Instance,
    QuarantineItem,
    ReidentificationKey,
    Series,
)
from cases.services import audit_record


class SeriesInline(admin.TabularInline):
    model = Series
    extra = 0
    fields = ("order", "modality", "description", "series_instance_uid")
    readonly_fields = ("series_instance_uid",)


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("__str__", "author", "status", "modality", "updated_at")
    list_filter = ("status", "modality", "difficulty")
    search_fields = ("title", "diagnosis", "keywords", "pseudonym")
    readonly_fields = ("pseudonym", "deidentification", "published_at", "withdrawn_at")
    inlines = [SeriesInline]


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ("__str__", "case", "order", "modality")
    list_select_related = ("case",)


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ("__str__", "status", "rows", "columns", "number_of_frames")
    list_filter = ("status",)
    readonly_fields = ("fingerprint",)


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "case", "author", "source", "status", "received", "quarantined")
    list_filter = ("status", "source")
    exclude = ("request",)  # original UIDs: never shown


@admin.register(QuarantineItem)
class QuarantineItemAdmin(admin.ModelAdmin):
    list_display = ("pk", "stage", "reason", "status", "created_at")
    list_filter = ("stage", "status")
    readonly_fields = ("file",)


@admin.register(ReidentificationKey)
class ReidentificationKeyAdmin(admin.ModelAdmin):
    """The way back from a case to its patient: decrypted only on its own page, for
    admins, and every opening is written to the audit log."""

    list_display = ("case", "job", "created_at")
    exclude = ("ciphertext",)
    readonly_fields = ("case", "job", "created_at", "mapping")

    @admin.display(description="Original patient and UIDs")
    def mapping(self, obj: ReidentificationKey) -> str:
        from cases.ingest import reid_decrypt

        return format_html("<pre>{}</pre>", json.dumps(reid_decrypt(obj.ciphertext), indent=2))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        key = self.get_object(request, object_id)
        if key is not None and self.has_view_permission(request, key):
            audit_record(
                actor=request.user, action="reid.reveal", case=key.case, target=f"reid:{key.pk}"
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "case", "target")
    list_filter = ("action",)
    search_fields = ("action", "target")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
