"""Reviewing an image's pixels: decisions on proposals, confirmation, safe areas, leaving out.

An image needs the author's confirmation when the first pass flagged it, when it has
proposals, or when the author marked an area safe. It is *reviewed* only when every
proposal was accepted or rejected and the author confirmed it (``reviewed_at``); any later
change of a decision, or a newly marked safe area, withdraws the confirmation. A proposal
holds geometry, kind and the matched attribute only — never the text that was read.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cases import storage
from cases.editing import EditsInvalid, require_draft
from cases.models import Case, Instance, Series
from cases.services import audit_record

PROPOSAL_KEYS = ("id", "frame", "x", "y", "width", "height", "kind", "matches", "confidence")
DECISIONS = ("accepted", "rejected")
RECT_KEYS = ("x", "y", "width", "height")

# Images waiting for the author's confirmation: flagged, proposed on, marked safe, or
# stopped by the final check.
NEEDS_CONFIRMATION = (
    Q(status=Instance.Status.NEEDS_REVIEW)
    | ~Q(proposed_regions=[])
    | ~Q(safe_regions=[])
    | ~Q(gate_regions=[])
)


def proposals_clean(regions: list[Any]) -> list[dict[str, Any]]:
    """Proposals as stored and sent to the browser: known keys only (never ``text``), each
    with an id unique within the instance."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, region in enumerate(r for r in regions if isinstance(r, dict)):
        clean = {key: region.get(key) for key in PROPOSAL_KEYS}
        if not isinstance(clean["id"], str) or not clean["id"] or clean["id"] in seen:
            clean["id"] = f"p{number}"
        clean["kind"] = clean["kind"] or "text"
        seen.add(clean["id"])
        out.append(clean)
    return out


def gate_regions_clean(regions: list[Any]) -> list[dict[str, Any]]:
    """Where the final check found text-like marks: geometry and frame only."""
    return [
        {key: r.get(key) for key in ("frame", *RECT_KEYS)} for r in regions if isinstance(r, dict)
    ]


def undecided(instance: Instance) -> list[str]:
    """Ids of the proposals the author has neither accepted nor rejected."""
    decisions = instance.proposal_decisions or {}
    return [p["id"] for p in instance.proposed_regions if decisions.get(p["id"]) not in DECISIONS]


def needs_confirmation(instance: Instance) -> bool:
    return bool(
        instance.status == Instance.Status.NEEDS_REVIEW
        or instance.proposed_regions
        or instance.safe_regions
        or instance.gate_regions
    )


def is_reviewed(instance: Instance) -> bool:
    """The rule: every proposal decided, and the author confirmed the image."""
    return instance.reviewed_at is not None and not undecided(instance)


def _proposal_box(proposal: dict[str, Any]) -> dict[str, Any]:
    # Always every frame: text burned into a cine stays where it is (see geometry.ts).
    return {**{k: proposal[k] for k in RECT_KEYS}, "frames": "all"}


def _is_box_of(box: dict[str, Any], proposal: dict[str, Any]) -> bool:
    return all(box.get(k) == proposal[k] for k in RECT_KEYS) and box.get("frames") in ("all", None)


def decisions_clean(decisions: Any, instance: Instance) -> dict[str, str]:
    if not isinstance(decisions, dict):
        raise EditsInvalid("decisions are an object of proposal id → accepted or rejected")
    ids = {p["id"] for p in instance.proposed_regions}
    for key, value in decisions.items():
        if key not in ids:
            raise EditsInvalid("a decision names a proposal this image does not have")
        if value not in DECISIONS:
            raise EditsInvalid("a proposal is either accepted or rejected")
    return dict(decisions)


def with_accepted_boxes(
    blackouts: list[dict[str, Any]], instance: Instance, decisions: dict[str, str]
) -> list[dict[str, Any]]:
    """The blackouts plus a box for every accepted proposal that has none yet."""
    out = list(blackouts)
    for proposal in instance.proposed_regions:
        if decisions.get(proposal["id"]) != "accepted":
            continue
        if not any(_is_box_of(b, proposal) for b in out):
            out.append(_proposal_box(proposal))
    return out


def _accept_pending(instance: Instance) -> int:
    """Accept every undecided proposal (explicit rejections stay); returns how many."""
    pending = undecided(instance)
    decisions = {**(instance.proposal_decisions or {}), **dict.fromkeys(pending, "accepted")}
    instance.proposal_decisions = decisions
    instance.blackouts = with_accepted_boxes(instance.blackouts or [], instance, decisions)
    return len(pending)


def _confirm(instance: Instance, *, accept_all: bool) -> int:
    accepted = _accept_pending(instance) if accept_all else 0
    left = undecided(instance)
    if left:
        raise EditsInvalid(
            f"{len(left)} proposal(s) of this image are still undecided: accept or reject "
            "each one before confirming"
        )
    instance.reviewed_at = instance.reviewed_at or timezone.now()
    instance.save(update_fields=["proposal_decisions", "blackouts", "reviewed_at"])
    return accepted


@transaction.atomic
def instance_review_confirm(
    *, instance: Instance, by: AbstractBaseUser, accept_all: bool = False
) -> Instance:
    """The author confirms the image is reviewed (refused while a proposal is undecided);
    with ``accept_all``, every undecided proposal is accepted first."""
    instance = (
        Instance.objects.select_for_update().select_related("series__case").get(pk=instance.pk)
    )
    require_draft(instance.series.case)
    accepted = _confirm(instance, accept_all=accept_all)
    audit_record(
        actor=by,
        action="instance.review.confirm",
        case=instance.series.case,
        target=f"instance:{instance.pk}",
        detail={"accepted": accepted, "proposals": len(instance.proposed_regions)},
    )
    return instance


@transaction.atomic
def series_review_confirm(*, series: Series, by: AbstractBaseUser) -> list[Instance]:
    """Accept every undecided proposal of every image of the series and confirm each
    image, in one action: recorded per image, one audit event for the series."""
    require_draft(series.case)
    instances = list(Instance.objects.select_for_update().filter(series=series))
    accepted = sum(_confirm(instance, accept_all=True) for instance in instances)
    audit_record(
        actor=by,
        action="series.review.confirm",
        case=series.case,
        target=f"series:{series.pk}",
        detail={"images": len(instances), "accepted": accepted},
    )
    return instances


@transaction.atomic
def instance_leave_out(*, instance: Instance, by: AbstractBaseUser) -> None:
    """Remove an image from a draft case and delete its working file; an emptied series
    goes too. Its quarantine items stay for an admin to discard."""
    instance = (
        Instance.objects.select_for_update().select_related("series__case").get(pk=instance.pk)
    )
    series, case = instance.series, instance.series.case
    require_draft(case)
    working = instance.working_file
    instance_id, series_id = instance.pk, series.pk
    instance.delete()
    series_removed = not series.instances.exists()
    if series_removed:
        series.delete()
    audit_record(
        actor=by,
        action="instance.leave_out",
        case=case,
        target=f"instance:{instance_id}",
        detail={"series": series_id, "series_removed": series_removed},
    )
    if working:
        path = storage.resolve_inside(settings.WORKING_ROOT, working)
        transaction.on_commit(lambda: path.unlink(missing_ok=True))


def images_to_review(*, case: Case) -> list[Instance]:
    """The images of the case that wait for the author's review, in series order."""
    candidates = (
        Instance.objects.filter(series__case=case)
        .filter(NEEDS_CONFIRMATION)
        .select_related("series")
        .order_by("series__order", "series", "instance_number", "pk")
    )
    return [instance for instance in candidates if not is_reviewed(instance)]
