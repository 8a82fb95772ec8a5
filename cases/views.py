"""Thin views: parse input, call one selector or service, render."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import permission_required
from cases import selectors, services
from cases.forms import LibrarySearchForm
from cases.models import Case, QuarantineItem


@permission_required("cases.author_case")
def my_cases(request: HttpRequest) -> HttpResponse:
    cases = selectors.case_list_for_author(user=request.user)
    return render(request, "cases/my_cases.html", {"cases": cases})


@require_POST
@permission_required("cases.author_case")
def case_new(request: HttpRequest) -> HttpResponse:
    case = services.case_create(author=request.user)
    return redirect(case)


@permission_required("cases.view_library")
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get_for_viewer(user=request.user, case_id=case_id)
    can_withdraw = case.status == Case.Status.PUBLISHED and (
        case.author_id == request.user.pk or request.user.has_perm("cases.withdraw_any_case")
    )
    return render(request, "cases/case_detail.html", {"case": case, "can_withdraw": can_withdraw})


@require_POST
@permission_required("cases.view_library")
def case_withdraw(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get_for_viewer(user=request.user, case_id=case_id)
    if case.author_id != request.user.pk and not request.user.has_perm("cases.withdraw_any_case"):
        raise PermissionDenied
    try:
        services.case_withdraw(case=case, by=request.user, reason=request.POST.get("reason", ""))
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The case was withdrawn from the library.")
    return redirect(case)


@permission_required("cases.view_library")
def library(request: HttpRequest) -> HttpResponse:
    form = LibrarySearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    cases = selectors.case_list_for_library(user=request.user, query=query)
    return render(request, "cases/library.html", {"form": form, "cases": cases})


@permission_required("cases.review_quarantine")
def quarantine(request: HttpRequest) -> HttpResponse:
    items = selectors.quarantine_list_open()
    return render(request, "cases/quarantine.html", {"items": items})


@require_POST
@permission_required("cases.review_quarantine")
def quarantine_discard(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(QuarantineItem, pk=item_id)
    services.quarantine_discard(item=item, by=request.user)
    messages.success(request, f"Quarantine item {item.pk} was discarded.")
    return redirect("cases:quarantine")


@permission_required("cases.view_audit")
def audit_log(request: HttpRequest) -> HttpResponse:
    return render(request, "cases/audit_log.html", {"events": selectors.audit_list_recent()})
