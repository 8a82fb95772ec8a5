"""Free text reviewed by a person: every text value that will be published or shown.

At import, each instance's free-text values (``FirstPassResult.free_text``: series and
study descriptions and any other text the second-pass allowlist keeps) are recorded as
``FreeTextValue`` — one per (series, keyword, value), encrypted until the author accepts,
edits or clears it. ``Series.description`` holds the accepted value only. The author's own
text (the write-up, annotation labels) is checked with the same detector; a flagged word
blocks publishing until it is edited away or acknowledged as "not an identifier".

Audit events name the keyword and the decision, never the value.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from pydicom.datadict import dictionary_VM, dictionary_VR

from anonymizer.freetext import find_identifiers, findings_for
from cases import ingest
from cases.models import Case, FreeTextValue, Instance, Series, TextFindingAcknowledgement
from cases.services import audit_record

# Text that describes the study, not one series: reviewed once for the whole study.
STUDY_LEVEL_KEYWORDS = frozenset({"StudyDescription"})
# The author's write-up fields that are published with the case.
WRITE_UP_FIELDS = (
    "title", "clinical_history", "findings", "diagnosis", "differential_diagnosis",
    "discussion", "teaching_points", "references", "keywords", "body_region",
)  # fmt: skip
# The longest value DICOM allows for each text VR (PS3.5 6.2).
VR_MAX_LENGTH = {"SH": 16, "LO": 64, "ST": 1024, "LT": 10240, "UT": 65536, "UC": 65536}
KIND_WORDS = {
    "person-name": "a person's name",
    "code": "a code of letters and digits",
    "digits": "a long number",
    "date": "a date",
    "phone": "a phone number",
    "email": "an e-mail address",
    "url": "a web address",
    "own-identifier": "a word of the patient's own identifiers",
}


class FreeTextInvalid(ValueError):
    pass


def _digest(text: str, *, purpose: str) -> str:
    key = f"teachingfile-{purpose}:{settings.DEID_SECRET}".encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def value_digest(value: str) -> str:
    """Keyed hash of a free-text value: how the same value is recognised again."""
    return _digest(value, purpose="free-text")


def word_digest(word: str) -> str:
    return _digest(" ".join(word.casefold().split()), purpose="acknowledged-word")


def value_original(value: FreeTextValue) -> str:
    """The value as the file carries it (decrypted for the author's review only)."""
    return str(ingest.reid_decrypt(bytes(value.ciphertext))["value"])


def keyword_label(keyword: str) -> str:
    """ "SeriesDescription" → "Series description"."""
    words: list[str] = []
    for char in keyword:
        if char.isupper() and words and not words[-1].isupper():
            words.append(" ")
        words.append(char)
    text = "".join(words).strip()
    return text[:1] + text[1:].lower()


def kind_words(kind: str) -> str:
    return KIND_WORDS.get(kind, "an identifier")


# --- import ---------------------------------------------------------------------------


def free_text_record(
    *, case: Case, series: Series, instance: Instance, values: Iterable[dict[str, Any]]
) -> None:
    """Record one instance's free-text values (idempotent; called inside the ingest
    transaction). A value seen before is only linked to the instance."""
    for item in values:
        keyword, text = str(item["keyword"]), str(item["value"])
        if not text.strip():
            continue
        findings = [
            {"start": int(f["start"]), "end": int(f["end"]), "kind": str(f["kind"])}
            for f in item.get("findings", [])
        ]
        record, _ = FreeTextValue.objects.get_or_create(
            case=case,
            series=None if keyword in STUDY_LEVEL_KEYWORDS else series,
            keyword=keyword,
            digest=value_digest(text),
            defaults={"ciphertext": ingest.reid_encrypt({"value": text}), "findings": findings},
        )
        record.instances.add(instance)


# --- the author's decisions -----------------------------------------------------------


def _check_value(keyword: str, text: str) -> str:
    text = text.strip()
    try:
        vr, vm = dictionary_VR(keyword), dictionary_VM(keyword)
    except KeyError:
        vr, vm = "LO", "1"
    if any(ord(c) < 32 and c not in "\r\n\t" for c in text):
        raise FreeTextInvalid("the text may not contain control characters")
    if "\\" in text and vm == "1":  # the separator of multiple values
        raise FreeTextInvalid(f"{keyword_label(keyword)} may not contain a backslash")
    limit = VR_MAX_LENGTH.get(vr, 64)
    if any(len(part) > limit for part in text.split("\\")):
        raise FreeTextInvalid(f"{keyword_label(keyword)} is at most {limit} characters")
    if vr in ("SH", "LO") and any(c in text for c in "\r\n"):
        raise FreeTextInvalid(f"{keyword_label(keyword)} is a single line")
    return text


@transaction.atomic
def free_text_decide(
    *, value: FreeTextValue, by: AbstractBaseUser, action: str, text: str = ""
) -> FreeTextValue:
    """Accept the value as it is, replace it with ``text`` (edit), or clear it."""
    value = FreeTextValue.objects.select_for_update().select_related("case").get(pk=value.pk)
    if value.case.status != Case.Status.DRAFT:
        raise FreeTextInvalid("only the text of a draft can be changed")
    if action == "accept":
        value.status, value.accepted_value = FreeTextValue.Status.ACCEPTED, value_original(value)
    elif action == "edit":
        edited = _check_value(value.keyword, text)
        kinds = sorted({f.kind for f in findings_for(value.keyword, edited)})
        if kinds:  # an edit is checked like the imported value was
            what = " and ".join(KIND_WORDS.get(k, k) for k in kinds)
            raise FreeTextInvalid(
                f"the edited text still looks like it holds {what}; change it, or clear the value"
            )
        if not edited:
            value.status, value.accepted_value = FreeTextValue.Status.CLEARED, ""
        else:
            value.status, value.accepted_value = FreeTextValue.Status.EDITED, edited
    elif action == "clear":
        value.status, value.accepted_value = FreeTextValue.Status.CLEARED, ""
    else:
        raise FreeTextInvalid("accept, edit or clear")
    value.decided_by, value.decided_at = by, timezone.now()
    value.save(update_fields=["status", "accepted_value", "decided_by", "decided_at"])
    if value.keyword == "SeriesDescription" and value.series_id is not None:
        Series.objects.filter(pk=value.series_id).update(description=value.accepted_value[:200])
    audit_record(
        actor=by,
        action=f"free_text.{value.status}",
        case=value.case,
        target=f"free-text:{value.pk}",
        detail={"keyword": value.keyword, "series": value.series_id},
    )
    return value


def texts_for_instance(instance: Instance) -> dict[str, str]:
    """What the second pass writes for each free-text keyword of this instance."""
    return {
        v.keyword: v.accepted_value
        for v in instance.free_text_values.all()
        if v.status != FreeTextValue.Status.PENDING
    }


# --- the author's own text ------------------------------------------------------------


@dataclass
class Segment:
    text: str
    kind: str = ""
    # The finding's own offsets (for the acknowledgement form).
    start: int = -1
    end: int = -1
    acknowledged: bool = False

    @property
    def looks_like(self) -> str:
        return kind_words(self.kind) if self.kind else ""


@dataclass
class CheckedText:
    """A text with its flagged words, for the case page and the publish gate."""

    where: str  # "write-up:<field>", "annotation:<instance id>" or "free-text:<id>"
    label: str
    text: str
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def segments(self) -> list[Segment]:
        return segments(self.text, self.findings)

    @property
    def open_findings(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if not f.get("acknowledged")]


def segments(text: str, findings: Sequence[dict[str, Any]]) -> list[Segment]:
    """Split ``text`` into plain and flagged parts (templates escape each part)."""
    parts: list[Segment] = []
    at = 0
    for f in sorted(findings, key=lambda f: int(f["start"])):
        start, end = max(int(f["start"]), at), min(int(f["end"]), len(text))
        if end <= start:
            continue
        if start > at:
            parts.append(Segment(text[at:start]))
        ack = bool(f.get("acknowledged"))
        parts.append(Segment(text[start:end], f["kind"], int(f["start"]), int(f["end"]), ack))
        at = end
    if at < len(text):
        parts.append(Segment(text[at:]))
    return parts


def _check(
    where: str, label: str, text: str, acknowledged: set[tuple[str, str, str]]
) -> CheckedText:
    findings = []
    for f in find_identifiers(text):
        digest = word_digest(text[f.start : f.end])
        findings.append(
            {
                "start": f.start,
                "end": f.end,
                "kind": f.kind,
                "why": f.why,
                "acknowledged": (_ack_where(where), f.kind, digest) in acknowledged,
            }
        )
    return CheckedText(where=where, label=label, text=text, findings=findings)


def _ack_where(where: str) -> str:
    """Acknowledgements of labels hold for every label of the image."""
    parts = where.split(":")
    return ":".join(parts[:2])


def own_text_checked(*, case: Case) -> list[CheckedText]:
    """The write-up fields and annotation labels of the case that contain a flagged word."""
    from cases.forms import CaseWriteUpForm

    acknowledged = set(
        TextFindingAcknowledgement.objects.filter(case=case).values_list("where", "kind", "digest")
    )
    labels = {name: f.label for name, f in CaseWriteUpForm.base_fields.items()}
    checked = []
    for name in WRITE_UP_FIELDS:
        text = getattr(case, name) or ""
        if text.strip():
            item = _check(f"write-up:{name}", str(labels.get(name, name)), text, acknowledged)
            checked.append(item)
    instances = Instance.objects.filter(series__case=case).select_related("series")
    for instance in instances.exclude(annotations=[]):
        for index, note in enumerate(instance.annotations):
            if note.get("type") == "text" and note.get("text"):
                label = f"Label on image {instance.instance_number or instance.pk}"
                where = f"annotation:{instance.pk}:{index}"
                checked.append(_check(where, label, note["text"], acknowledged))
    return [c for c in checked if c.findings]


@transaction.atomic
def text_finding_acknowledge(
    *, case: Case, by: AbstractBaseUser, where: str, start: int, end: int
) -> TextFindingAcknowledgement:
    """The author says the flagged word at ``start:end`` of their text is not an
    identifier. Checked against the current text: only a flagged word can be acknowledged."""
    if case.status != Case.Status.DRAFT:
        raise FreeTextInvalid("only the text of a draft can be changed")
    item = next((c for c in own_text_checked(case=case) if c.where == where), None)
    finding = next(
        (f for f in (item.findings if item else []) if (f["start"], f["end"]) == (start, end)),
        None,
    )
    if item is None or finding is None:
        raise FreeTextInvalid("that word is no longer flagged: reload the page")
    ack, _ = TextFindingAcknowledgement.objects.get_or_create(
        case=case,
        where=_ack_where(where),
        kind=finding["kind"],
        digest=word_digest(item.text[start:end]),
        defaults={"by": by},
    )
    audit_record(
        actor=by,
        action="text.acknowledge",
        case=case,
        target=_ack_where(where),
        detail={"kind": finding["kind"]},
    )
    return ack


# --- the case page and the publish gate -----------------------------------------------


@dataclass
class ValueRow:
    value: FreeTextValue
    where: str
    label: str
    text: str
    segments: list[Segment]


def _in_use(values: QuerySet[FreeTextValue]) -> QuerySet[FreeTextValue]:
    """Values some image of the case still carries (not those of images left out)."""
    return values.filter(instances__isnull=False).distinct()


def free_text_review(*, case: Case) -> list[ValueRow]:
    """Every free-text value of the case, as the author reviews it on the case page."""
    rows = []
    values = _in_use(FreeTextValue.objects.filter(case=case)).select_related("series")
    for value in values:
        if value.series is None:
            where = "Study"
        else:
            where = f"Series {value.series.order + 1}"
            where += f" ({value.series.modality})" if value.series.modality else ""
        if value.status == FreeTextValue.Status.PENDING:
            text = value_original(value)
            parts = segments(text, value.findings)
        else:
            text = value.accepted_value
            parts = segments(text, [])
        rows.append(ValueRow(value, where, keyword_label(value.keyword), text, parts))
    return rows


def free_text_blockers(*, case: Case) -> list[str]:
    reasons = []
    pending = _in_use(FreeTextValue.objects.filter(case=case, status=FreeTextValue.Status.PENDING))
    count = pending.count()
    if count:
        reasons.append(
            f"{count} text value(s) that will be published still need review: accept, edit "
            "or clear each under “Text that will be published”."
        )
    for item in own_text_checked(case=case):
        kinds = sorted({kind_words(f["kind"]) for f in item.open_findings})
        if kinds:
            reasons.append(
                f"{item.label} contains what looks like {' and '.join(kinds)}: edit it, or "
                "mark each highlighted word as not an identifier."
            )
    return reasons


def free_text_failure_hint(*, instance: Instance, reasons: Sequence[str]) -> str:
    """When the final check refused an image for its text, which value to edit."""
    text = " ".join(reasons)
    for value in instance.free_text_values.select_related("series"):
        if value.keyword in text or keyword_label(value.keyword).lower() in text.lower():
            where = "the study" if value.series is None else f"series {value.series.order + 1}"
            return (
                f"Edit or clear the {keyword_label(value.keyword).lower()} of {where} "
                "under “Text that will be published”, then publish again."
            )
    return ""
