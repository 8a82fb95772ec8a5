// Reviewing an image: proposals (geometry, kind and matched attribute — never recognised
// text), the author's decisions on them, and the places where the final check found
// text-like marks. Pure: no DOM, tested with Vitest.

import { type Blackout, type Rect, appliesTo } from "./geometry";

export type Decision = "accepted" | "rejected";
export type Decisions = Record<string, Decision>;
export type ProposalKind = "text" | "static-overlay" | "outside-ultrasound-regions";

export interface Proposal extends Rect {
  id: string;
  frame: number | null;
  kind: ProposalKind | string;
  matches: string | null;
  confidence: number | null;
}

export interface GateRegion extends Rect {
  frame: number | null;
}

const KIND_LABELS: Record<string, string> = {
  text: "text",
  "static-overlay": "static overlay on every frame",
  "outside-ultrasound-regions": "outside the ultrasound regions",
};

/** What the author reads for a proposal: the matched attribute first, else its kind. */
export function proposalLabel(p: Pick<Proposal, "kind" | "matches">): string {
  if (p.matches) return `matches ${p.matches}`;
  return KIND_LABELS[p.kind] ?? "text";
}

export function proposalStatus(p: Proposal, decisions: Decisions): Decision | "pending" {
  return decisions[p.id] ?? "pending";
}

/** How many proposals the author has neither accepted nor rejected. */
export function pendingCount(proposals: Proposal[], decisions: Decisions): number {
  return proposals.filter((p) => proposalStatus(p, decisions) === "pending").length;
}

/** Whether `outer` covers every pixel of `inner`. */
export function contains(outer: Rect, inner: Rect): boolean {
  return (
    outer.x <= inner.x &&
    outer.y <= inner.y &&
    outer.x + outer.width >= inner.x + inner.width &&
    outer.y + outer.height >= inner.y + inner.height
  );
}

/** Whether an area (box or safe area) covers a gate region on the frame(s) it was found. */
function covers(area: Blackout, region: GateRegion): boolean {
  if (!contains(area, region)) return false;
  return region.frame === null ? area.frames === "all" : appliesTo(area.frames, region.frame);
}

/** What the author has done about a place the final check pointed at. */
export function gateStatus(region: GateRegion, blackouts: Blackout[], safe: Blackout[]): "boxed" | "safe" | "open" {
  if (blackouts.some((b) => covers(b, region))) return "boxed";
  if (safe.some((s) => covers(s, region))) return "safe";
  return "open";
}

/** The area a gate region becomes when the author boxes it or marks it safe. */
export function gateArea(region: GateRegion, scope: "frame" | "instance"): Blackout {
  const { x, y, width, height } = region;
  const frames = scope === "frame" && region.frame !== null ? [region.frame] : "all";
  return { x, y, width, height, frames };
}

/** `?image=<id>&frame=<1-based>` → where the editor should open, if asked. */
export function startPlace(search: string): { instance: number; frame: number } | null {
  const params = new URLSearchParams(search);
  const instance = Number(params.get("image"));
  if (!Number.isInteger(instance) || instance <= 0) return null;
  const frame = Number(params.get("frame") ?? "1");
  return { instance, frame: Number.isInteger(frame) && frame >= 1 ? frame - 1 : 0 };
}
