"""Writes for cases. Views and tasks call these; nothing else writes case data."""

import secrets
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from cases.models import AuditEvent, Case, QuarantineItem


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    case: Case | None = None,
    target: str = "",
    detail: dict[str, object] | None = None,
) -> AuditEvent:
    """Append one event to the audit log. ``detail`` must never hold PHI."""
    return AuditEvent.objects.create(
        actor=actor, action=action, case=case, target=target, detail=detail or {}
    )


def _new_pseudonym() -> str:
    # Not derived from anything about the patient: "TF-" + 10 random base32 characters.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "TF-" + "".join(secrets.choice(alphabet) for _ in range(10))


@transaction.atomic
def case_create(*, author: AbstractBaseUser, title: str = "") -> Case:
    case = Case.objects.create(author=author, title=title, pseudonym=_new_pseudonym())
    audit_record(actor=author, action="case.create", case=case)
    return case


@transaction.atomic
def case_withdraw(*, case: Case, by: AbstractBaseUser, reason: str = "") -> Case:
    """Take a published case out of the library (its author or an admin)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status != Case.Status.PUBLISHED:
        raise ValueError("Only a published case can be withdrawn.")
    case.status = Case.Status.WITHDRAWN
    case.withdrawn_at = timezone.now()
    case.save(update_fields=["status", "withdrawn_at", "updated_at"])
    audit_record(actor=by, action="case.withdraw", case=case, detail={"reason": reason})
    return case


@transaction.atomic
def quarantine_discard(*, item: QuarantineItem, by: AbstractBaseUser) -> QuarantineItem:
    """An admin has reviewed the item: delete its file and close it."""
    from django.conf import settings

    from cases import storage

    item = QuarantineItem.objects.select_for_update().get(pk=item.pk)
    if item.status != QuarantineItem.Status.OPEN:
        return item
    if item.file:
        storage.resolve_inside(settings.QUARANTINE_ROOT, item.file).unlink(missing_ok=True)
    item.status = QuarantineItem.Status.DISCARDED
    item.file = ""
    item.resolved_at = timezone.now()
    item.resolved_by = by
    item.save(update_fields=["status", "file", "resolved_at", "resolved_by"])
    audit_record(actor=by, action="quarantine.discard", target=f"quarantine:{item.pk}")
    return item


@transaction.atomic
def case_write_up_save(*, form: Any, by: AbstractBaseUser) -> Case:
    """Save the author's write-up (a bound, valid CaseWriteUpForm)."""
    case = form.save()
    audit_record(actor=by, action="case.write_up", case=case)
    return case


@transaction.atomic
def series_move(*, case: Case, series_id: int, by: AbstractBaseUser, up: bool) -> None:
    """Move a series one place up or down in its draft case (swap with its neighbour)."""
    from cases.models import Series

    if case.status != Case.Status.DRAFT:
        raise ValueError("Only a draft can be changed.")
    ordered = list(Series.objects.select_for_update().filter(case=case).order_by("order", "pk"))
    index = next((i for i, s in enumerate(ordered) if s.pk == series_id), None)
    if index is None:
        raise ValueError("That series is not part of the case.")
    other = index - 1 if up else index + 1
    if not 0 <= other < len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, series in enumerate(ordered):
        if series.order != position:
            series.order = position
            series.save(update_fields=["order"])
    audit_record(actor=by, action="series.move", case=case, target=f"series:{series_id}")
