"""The teaching case and everything that flows into it.

Life cycle: an ``ImportJob`` brings files in (PACS pull or upload); the first pass turns
each file into an ``Instance`` of a ``Series`` of the author's draft ``Case`` or into a
``QuarantineItem``; publishing runs the second pass over every instance and flips the case
to PUBLISHED only when all of them verified. ``AuditEvent`` records who did what, and is
append-only.

No model holds a patient identifier in clear: instances carry new UIDs only, and the
mapping back to the patient is a ``ReidentificationKey`` encrypted with a key the
database does not hold.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse

from cases.fields import EncryptedJSONField


class Case(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHING = "publishing", "Publishing"
        PUBLISHED = "published", "Published"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Difficulty(models.TextChoices):
        STUDENT = "student", "Medical student"
        RESIDENT = "resident", "Resident"
        FELLOW = "fellow", "Fellow"
        SPECIALIST = "specialist", "Specialist"

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cases"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # Stands in for the patient's name and ID in every published header.
    pseudonym = models.CharField(max_length=64, unique=True)

    title = models.CharField(max_length=200, blank=True)
    clinical_history = models.TextField(blank=True)
    findings = models.TextField(blank=True)
    diagnosis = models.CharField(max_length=300, blank=True)
    differential_diagnosis = models.TextField(blank=True)
    discussion = models.TextField(blank=True)
    teaching_points = models.TextField(blank=True)
    references = models.TextField(blank=True)
    modality = models.CharField(max_length=64, blank=True)
    body_region = models.CharField(max_length=64, blank=True)
    keywords = models.CharField(max_length=300, blank=True)
    difficulty = models.CharField(max_length=16, choices=Difficulty.choices, blank=True)
    # From the de-identified header only.
    patient_age_band = models.CharField(max_length=16, blank=True)
    patient_sex = models.CharField(max_length=1, blank=True)

    # The author's answers to the pre-publication checklist, and when they gave them.
    publish_checklist = models.JSONField(default=dict, blank=True)
    # What the second pass did (profile.describe()), stored at publish.
    deidentification = models.JSONField(default=dict, blank=True)
    publish_error = models.TextField(blank=True)
    # The current publish request: a token naming it (its files live under
    # PUBLISHED_ROOT/<case>/<token>/), when it was asked for, and the worker's last sign of
    # life while it runs (null until a worker starts it). The sweeper ends a request whose
    # worker stopped or that no worker took (teachingfile/sweeper.py).
    publish_attempt = models.CharField(max_length=32, blank=True)
    publish_requested_at = models.DateTimeField(null=True, blank=True)
    publish_heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        permissions = [
            ("author_case", "Can pull studies and author teaching cases"),
            ("view_library", "Can search and view published cases"),
            ("review_quarantine", "Can review quarantined files"),
            ("view_audit", "Can read the audit log"),
            ("withdraw_any_case", "Can withdraw any published case"),
        ]

    def __str__(self) -> str:
        return self.title or f"Untitled case {self.pseudonym}"

    def get_absolute_url(self) -> str:
        return reverse("cases:case_detail", args=[self.pk])


class Series(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="series")
    series_instance_uid = models.CharField(max_length=64)  # new UID
    study_instance_uid = models.CharField(max_length=64)  # new UID
    order = models.PositiveIntegerField(default=0)
    modality = models.CharField(max_length=16, blank=True)
    description = models.CharField(max_length=200, blank=True)
    key_instance = models.ForeignKey(
        "Instance", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # One crop rectangle per series, in pixel coordinates: {"x", "y", "width", "height"}.
    crop = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["case", "order", "pk"]
        verbose_name_plural = "series"
        constraints = [
            models.UniqueConstraint(
                fields=["case", "series_instance_uid"], name="one_series_per_uid_per_case"
            )
        ]

    def __str__(self) -> str:
        return f"{self.modality} {self.description}".strip() or f"Series {self.pk}"


class Instance(models.Model):
    class Status(models.TextChoices):
        NEEDS_REVIEW = "needs-review", "Needs review"
        CLEAN = "clean", "Clean"
        PUBLISHED = "published", "Published"

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="instances")
    sop_instance_uid = models.CharField(max_length=64)  # new UID
    sop_class_uid = models.CharField(max_length=64)
    instance_number = models.IntegerField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0)
    columns = models.PositiveIntegerField(default=0)
    number_of_frames = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CLEAN)
    # Relative to WORKING_ROOT / PUBLISHED_ROOT; never a path in the raw store.
    working_file = models.CharField(max_length=300)
    published_file = models.CharField(max_length=300, blank=True)
    # Why the first pass flagged the pixels, and where it proposes boxes: geometry, kind
    # and the matched attribute only, never recognised text: [{"id": "p0", "frame": None |
    # int, "x", "y", "width", "height", "kind", "matches", "confidence"}].
    review_reasons = models.JSONField(default=list, blank=True)
    proposed_regions = models.JSONField(default=list, blank=True)
    # The author's decision on each proposal by id: {"p0": "accepted" | "rejected"}. An
    # accepted proposal is also a blackout.
    proposal_decisions = models.JSONField(default=dict, blank=True)
    # The author's edits as data: [{"x", "y", "width", "height", "frames": "all" | [..]}].
    blackouts = models.JSONField(default=list, blank=True)
    # Teaching annotations, shown over the image and never burned into it: arrows
    # {"type": "arrow", "x1", "y1", "x2", "y2"}, ellipses {"type": "ellipse", "x", "y",
    # "width", "height"} and labels {"type": "text", "x", "y", "text"}, each with the
    # "frame" (0-based) it belongs to, in pixel coordinates of the uncropped image.
    annotations = models.JSONField(default=list, blank=True)
    # Where the final check (the residual text gate) found text-like marks at the last
    # failed publish: [{"frame": None | int, "x", "y", "width", "height"}], uncropped.
    gate_regions = models.JSONField(default=list, blank=True)
    # Areas the author looked at and marked safe (scale bar, L/R marker); the gate
    # ignores text inside them: [{"x", "y", "width", "height", "frames": "all" | [..]}].
    safe_regions = models.JSONField(default=list, blank=True)
    # Set only by the author's explicit confirmation, refused while any proposal is
    # undecided; cleared when a decision changes or an area is marked safe.
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Keyed hashes of the identifying tokens of the original, for the verifier.
    fingerprint = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["series", "instance_number", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "sop_instance_uid"], name="one_instance_per_uid_per_series"
            )
        ]

    def __str__(self) -> str:
        return f"Instance {self.instance_number or self.pk} of {self.series}"


class ImportJob(models.Model):
    class Source(models.TextChoices):
        PACS = "pacs", "PACS pull"
        UPLOAD = "upload", "Upload"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RETRIEVING = "retrieving", "Retrieving"
        PROCESSING = "processing", "De-identifying"
        DONE = "done", "Done"
        INCOMPLETE = "incomplete", "Incomplete"
        FAILED = "failed", "Failed"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="import_jobs")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_jobs"
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    pacs_node = models.ForeignKey(
        "pacs_bridge.PacsNode", null=True, blank=True, on_delete=models.SET_NULL
    )
    # What to retrieve (original UIDs): needed while the job runs (and, for a retry, a
    # while after it failed), cleared when it ends; encrypted in the database.
    request = EncryptedJSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    expected = models.PositiveIntegerField(null=True, blank=True)
    remaining = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    warning = models.PositiveIntegerField(default=0)
    received = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # The worker's last sign of life (retrieve progress, a batch of the first pass); the
    # sweeper re-runs or ends a job silent for too long (teachingfile/sweeper.py).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # How many times the job was started again after its worker stopped or its message was
    # lost (bounded by STUCK_MAX_ATTEMPTS); also names the run that owns the retrieval.
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.get_status_display()})"


class QuarantineItem(models.Model):
    class Stage(models.TextChoices):
        RECEIVE = "receive", "Receive"
        FIRST_PASS = "first-pass", "First pass"
        SECOND_PASS = "second-pass", "Second pass"
        UPLOAD = "upload", "Upload"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISCARDED = "discarded", "Discarded"
        # Closed by itself: the image it held back was published later.
        RESOLVED = "resolved", "Resolved"

    job = models.ForeignKey(
        ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="quarantine"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="quarantine"
    )
    # The draft image a second-pass item holds back (a retry replaces its open item).
    instance = models.ForeignKey(
        "Instance", null=True, blank=True, on_delete=models.SET_NULL, related_name="quarantine"
    )
    stage = models.CharField(max_length=16, choices=Stage.choices)
    reason = models.TextField()
    # Relative to QUARANTINE_ROOT (owner-only, never served); empty once discarded.
    file = models.CharField(max_length=300, blank=True)
    sop_class_uid = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Quarantine {self.pk}: {self.reason[:60]}"


class ReidentificationKey(models.Model):
    """The mapping original → pseudonym and new UIDs, encrypted (admin-only)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reid_keys")
    job = models.ForeignKey(ImportJob, null=True, blank=True, on_delete=models.SET_NULL)
    ciphertext = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Re-identification key for case {self.case_id}"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs: object) -> int:
        raise TypeError("audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("audit events are append-only")


class AuditEvent(models.Model):
    """Who did what, when. Append-only: rows are never changed or deleted."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    action = models.CharField(max_length=64, db_index=True)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT)
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise TypeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise TypeError("audit events are append-only")


class FreeTextValue(models.Model):
    """One free-text value that would be published (a series or study description, any
    other text on the second-pass allowlist), reviewed by the author before publishing.

    One record per (case, series, keyword, value): the instances that carry it are linked.
    Until the author decides, the value is held only encrypted (it may contain a name);
    ``accepted_value`` is what the second pass writes and the library shows.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "To review"
        ACCEPTED = "accepted", "Accepted"
        EDITED = "edited", "Edited"
        CLEARED = "cleared", "Cleared"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="free_text_values")
    # Empty for study-level text (Study Description), shared by the series of the study.
    series = models.ForeignKey(
        Series, null=True, blank=True, on_delete=models.CASCADE, related_name="free_text_values"
    )
    keyword = models.CharField(max_length=64)
    # Keyed hash of the original value: one record per value, never the value itself.
    digest = models.CharField(max_length=64)
    # The original value, Fernet-encrypted (cases.ingest.reid_encrypt).
    ciphertext = models.BinaryField()
    # What the detector flagged: [{"start", "end", "kind"}], offsets into the original.
    findings = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Clear text only once the author accepted or edited it ("" when cleared).
    accepted_value = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    instances = models.ManyToManyField(Instance, related_name="free_text_values", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "series__order", "series", "keyword", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "series", "keyword", "digest"],
                name="one_free_text_value_per_series_keyword",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.keyword} ({self.get_status_display()}) of case {self.case_id}"


class TextFindingAcknowledgement(models.Model):
    """The author looked at a flagged word in their own text and said it is not an
    identifier (an eponym such as "Smith fracture"). The word is kept as a keyed hash."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="text_acknowledgements")
    # Where the word stands: "write-up:<field>" or "annotation:<instance id>".
    where = models.CharField(max_length=64)
    kind = models.CharField(max_length=32)
    digest = models.CharField(max_length=64)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "where", "kind", "digest"], name="one_acknowledgement_per_word"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} in {self.where} acknowledged (case {self.case_id})"
