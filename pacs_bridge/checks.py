"""Startup checks for the DICOM side."""

from django.conf import settings
from django.core.checks import Error, register

from pacs_bridge.models import ae_title_validator


@register()
def check_ae_title(app_configs: object, **kwargs: object) -> list[Error]:
    try:
        ae_title_validator(settings.DICOM_AE_TITLE)
    except Exception:
        return [
            Error(
                f"TEACHINGFILE_AE_TITLE {settings.DICOM_AE_TITLE!r} is not a valid AE title.",
                hint="Use 1 to 16 printable ASCII characters.",
                id="pacs_bridge.E001",
            )
        ]
    return []
