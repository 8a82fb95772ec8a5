"""Re-check published cases with today's gate, and withdraw those that no longer pass.

The verifier and its residual text and free-text gates improve over time; a case published
before an improvement was checked by the older gate. ``published_cases_recheck`` runs the
current verifier over every published file, exactly as at publish (the author's boxes,
crop, safe areas and accepted text), and withdraws a case any of whose images fail, with
an audit event and a message to its author.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from anonymizer.profile.allowlist import SECOND_PASS_ALLOWLIST
from anonymizer.verify import Fingerprint, verify
from cases import freetext, storage
from cases.ingest import deid_keys
from cases.models import Case, Instance
from cases.publish import edits_for, residual_gate_sample, safe_regions_for
from cases.services import audit_record


@dataclass
class RecheckOutcome:
    case_id: int
    checked: int = 0
    failures: list[tuple[int, list[str]]] = field(default_factory=list)  # (instance, reasons)
    withdrawn: bool = False

    @property
    def passed(self) -> bool:
        return not self.failures


def published_case_recheck(*, case: Case) -> RecheckOutcome:
    """Run the current verifier over every published file of ``case`` (nothing changes)."""
    outcome = RecheckOutcome(case_id=case.pk)
    keys = deid_keys()
    instances = list(
        Instance.objects.filter(series__case=case)
        .select_related("series")
        .prefetch_related("free_text_values")
    )
    gated = residual_gate_sample(instances)  # the same images as at publish
    for instance in instances:
        outcome.checked += 1
        try:
            path = storage.resolve_inside(settings.PUBLISHED_ROOT, instance.published_file)
        except (ValueError, OSError):
            path = None
        if not instance.published_file or path is None or not path.is_file():
            outcome.failures.append((instance.pk, ["the published file is missing"]))
            continue
        verdict = verify(
            path,
            fingerprint=Fingerprint.from_json(instance.fingerprint),
            keys=keys,
            allowlist=SECOND_PASS_ALLOWLIST,
            edits=edits_for(instance),
            flagged=bool(instance.review_reasons),
            pseudonym=case.pseudonym,
            texts=freetext.texts_for_instance(instance),
            safe_regions=safe_regions_for(instance),
            residual_text=instance.pk in gated,
        )
        if not verdict.ok:
            outcome.failures.append((instance.pk, verdict.reasons()))
    return outcome


def published_cases_recheck(*, withdraw: bool = True) -> list[RecheckOutcome]:
    """Re-check every published case; withdraw (if ``withdraw``) those that fail."""
    outcomes = []
    for case in Case.objects.filter(status=Case.Status.PUBLISHED).select_related("author"):
        outcome = published_case_recheck(case=case)
        if not outcome.passed and withdraw:
            outcome.withdrawn = _withdraw(case, outcome)
        outcomes.append(outcome)
    return outcomes


def _withdraw(case: Case, outcome: RecheckOutcome) -> bool:
    first = outcome.failures[0][1][0] if outcome.failures[0][1] else "unknown"
    message = (
        f"Withdrawn on {timezone.now():%Y-%m-%d} by a re-check of published cases: "
        f"{len(outcome.failures)} of {outcome.checked} images no longer pass the final check "
        f"(first reason: {first}). The case is out of the library; nothing else changed."
    )
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.status != Case.Status.PUBLISHED:
            return False
        locked.status = Case.Status.WITHDRAWN
        locked.withdrawn_at = timezone.now()
        locked.publish_error = message
        locked.save(update_fields=["status", "withdrawn_at", "publish_error", "updated_at"])
        audit_record(
            actor=None,
            action="case.withdraw.recheck",
            case=locked,
            detail={"failed": len(outcome.failures), "checked": outcome.checked},
        )
    email = getattr(case.author, "email", "")
    if email:
        send_mail(
            f"Teaching case {case.pk} was withdrawn",
            f"{message}\n\nOpen the case: {case.get_absolute_url()}",
            None,
            [email],
            fail_silently=True,
        )
    return True
