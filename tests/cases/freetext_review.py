"""What a careful author does under "Text that will be published" before publishing."""

from cases import freetext
from cases.models import Case, FreeTextValue


def accept_all_text(case: Case, by) -> None:
    for value in FreeTextValue.objects.filter(case=case, status=FreeTextValue.Status.PENDING):
        freetext.free_text_decide(value=value, by=by, action="accept")
