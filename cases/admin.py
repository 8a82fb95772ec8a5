from django.contrib import admin

from cases.models import (
    AuditEvent,
    Case,
    ImportJob,
    Instance,
    QuarantineItem,
    ReidentificationKey,
    Series,
)


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
    readonly_fields = ("request",)


@admin.register(QuarantineItem)
class QuarantineItemAdmin(admin.ModelAdmin):
    list_display = ("pk", "stage", "reason", "status", "created_at")
    list_filter = ("stage", "status")
    readonly_fields = ("file",)


@admin.register(ReidentificationKey)
class ReidentificationKeyAdmin(admin.ModelAdmin):
    """Listed so admins know a key exists; the ciphertext is never shown here."""

    list_display = ("case", "job", "created_at")
    exclude = ("ciphertext",)

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
