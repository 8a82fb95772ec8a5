from django import forms


class LibrarySearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)


class CaseWriteUpForm(forms.ModelForm):
    class Meta:
        from cases.models import Case

        model = Case
        fields = [
            "title", "clinical_history", "findings", "diagnosis", "differential_diagnosis",
            "discussion", "teaching_points", "references", "modality", "body_region",
            "keywords", "difficulty", "patient_age_band", "patient_sex",
        ]  # fmt: skip
        widgets = {
            name: forms.Textarea(attrs={"rows": 4})
            for name in (
                "clinical_history",
                "findings",
                "differential_diagnosis",
                "discussion",
                "teaching_points",
                "references",
            )
        }


class PublishForm(forms.Form):
    """The checklist from the source documents; every box must be ticked."""

    def __init__(self, *args, **kwargs):
        from cases.publish import CHECKLIST

        super().__init__(*args, **kwargs)
        for key, text in CHECKLIST.items():
            self.fields[key] = forms.BooleanField(label=text, required=False)
