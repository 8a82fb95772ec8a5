"""Image review: per-proposal decisions, gate regions, safe areas, quarantine per image.

The data step removes recognised text from every stored proposal (it held names, IDs and
birth dates in clear), gives old proposals ids ("p0", "p1", ...), records as accepted the
proposals that an existing blackout already covers, and withdraws the confirmation of a
draft image whose proposals are not all decided (the new rule for "reviewed").
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

PROPOSAL_KEYS = ("frame", "x", "y", "width", "height", "kind", "matches", "confidence")


def proposals_without_text(regions: list[Any]) -> list[dict[str, Any]]:
    """Old proposals → the new shape: ids, geometry, kind, matched keyword; no text."""
    out = []
    for number, region in enumerate(r for r in regions if isinstance(r, dict)):
        clean = {key: region.get(key) for key in PROPOSAL_KEYS}
        clean["id"] = f"p{number}"
        clean["kind"] = clean["kind"] or "text"
        confidence = clean["confidence"]
        if isinstance(confidence, int | float) and confidence > 1:  # tesseract's 0..100
            clean["confidence"] = round(confidence / 100, 2)
        elif not isinstance(confidence, int | float):
            clean["confidence"] = None
        out.append(clean)
    return out


def decisions_from_blackouts(proposals: list[dict], blackouts: list[Any]) -> dict[str, str]:
    """A proposal whose box the author already kept (same rectangle) counts as accepted."""
    rects = {
        tuple(b.get(k) for k in ("x", "y", "width", "height"))
        for b in blackouts
        if isinstance(b, dict)
    }
    return {
        p["id"]: "accepted"
        for p in proposals
        if tuple(p.get(k) for k in ("x", "y", "width", "height")) in rects
    }


def forward(apps: Any, schema_editor: Any) -> None:
    Instance = apps.get_model("cases", "Instance")
    for instance in Instance.objects.exclude(proposed_regions=[]).select_related("series__case"):
        proposals = proposals_without_text(instance.proposed_regions or [])
        decisions = decisions_from_blackouts(proposals, instance.blackouts or [])
        instance.proposed_regions = proposals
        instance.proposal_decisions = decisions
        fields = ["proposed_regions", "proposal_decisions"]
        draft = instance.series.case.status in ("draft", "publishing")
        if draft and instance.reviewed_at and len(decisions) < len(proposals):
            instance.reviewed_at = None
            fields.append("reviewed_at")
        instance.save(update_fields=fields)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_free_text_review"),
    ]

    operations = [
        migrations.AddField(
            model_name="instance",
            name="gate_regions",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="instance",
            name="proposal_decisions",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="instance",
            name="safe_regions",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="quarantineitem",
            name="instance",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="quarantine",
                to="cases.instance",
            ),
        ),
        migrations.AlterField(
            model_name="quarantineitem",
            name="status",
            field=models.CharField(
                choices=[("open", "Open"), ("discarded", "Discarded"), ("resolved", "Resolved")],
                default="open",
                max_length=16,
            ),
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
