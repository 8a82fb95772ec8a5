"""Reads for cases. Every read of a case goes through here, which knows the user's role."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from cases.models import AuditEvent, Case, QuarantineItem


def case_list_for_author(*, user: AbstractBaseUser) -> QuerySet[Case]:
    return (
        Case.objects.filter(author=user)
        .annotate(
            n_series=Count("series", distinct=True),
            n_open_quarantine=Count(
                "quarantine", filter=Q(quarantine__status="open"), distinct=True
            ),
        )
        .order_by("-updated_at")
    )


def case_list_for_library(*, user: AbstractBaseUser, query: str = "") -> QuerySet[Case]:
    if not user.has_perm("cases.view_library"):
        raise PermissionDenied
    cases = Case.objects.filter(status=Case.Status.PUBLISHED)
    if query:
        cases = cases.filter(
            Q(title__icontains=query)
            | Q(diagnosis__icontains=query)
            | Q(keywords__icontains=query)
            | Q(findings__icontains=query)
        )
    return cases.order_by("-published_at")


def case_get_for_viewer(*, user: AbstractBaseUser, case_id: int) -> Case:
    """A case the user may see: published ones, and their own drafts."""
    case = get_object_or_404(Case, pk=case_id)
    if case.status == Case.Status.PUBLISHED and user.has_perm("cases.view_library"):
        return case
    if case.author_id == user.pk and user.has_perm("cases.author_case"):
        return case
    if user.has_perm("cases.withdraw_any_case") and case.status != Case.Status.DRAFT:
        return case
    raise PermissionDenied


def quarantine_list_open() -> QuerySet[QuarantineItem]:
    return QuarantineItem.objects.filter(status=QuarantineItem.Status.OPEN).select_related(
        "case", "job"
    )


def audit_list_recent(*, limit: int = 200) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.select_related("actor", "case")[:limit]
