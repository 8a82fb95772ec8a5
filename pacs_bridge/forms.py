from django import forms

from cases.models import Case
from pacs_bridge.models import PacsNode


class StudySearchForm(forms.Form):
    node = forms.ModelChoiceField(
        PacsNode.objects.filter(enabled=True), label="PACS", empty_label=None
    )
    patient_id = forms.CharField(label="Patient ID", required=False, max_length=64)
    patient_name = forms.CharField(label="Patient name", required=False, max_length=64)
    accession_number = forms.CharField(label="Accession number", required=False, max_length=16)
    date_from = forms.DateField(
        label="Study date from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    modality = forms.CharField(required=False, max_length=16)
    description = forms.CharField(label="Study description", required=False, max_length=64)

    def clean(self):
        data = super().clean()
        keys = ("patient_id", "patient_name", "accession_number", "date_from", "date_to",
                "modality", "description")  # fmt: skip
        if not any(data.get(k) for k in keys):
            raise forms.ValidationError("Give at least one search field.")
        return data


class ImportForm(forms.Form):
    node = forms.ModelChoiceField(PacsNode.objects.filter(enabled=True))
    # The search result's server-side token, never the original Study Instance UID.
    token = forms.CharField(max_length=64)
    series = forms.MultipleChoiceField(required=False)  # choices set from the PACS answer
    case = forms.ModelChoiceField(Case.objects.none(), required=False, empty_label="A new case")

    def __init__(self, *args, author=None, series_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["series"].choices = series_choices
        if author is not None:
            self.fields["case"].queryset = Case.objects.filter(
                author=author, status=Case.Status.DRAFT
            )
