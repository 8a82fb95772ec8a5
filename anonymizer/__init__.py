"""De-identification of DICOM data sets for Teachingfile (pure Python, no Django)."""
