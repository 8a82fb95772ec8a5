// The author's edits: per instance the blackouts, the decisions on proposals, the areas
// marked safe and whether the image is confirmed; one crop per series; an undo stack of
// snapshots. Pure: saving to the server is the caller's job (it saves what each change
// reports as touched).
//
// "reviewed" follows the server's rule: only an explicit confirmation sets it (the server
// answers with the new state, see applyServer); changing a decision or marking an area
// safe clears it. Undo restores boxes, decisions and safe areas, and clears "reviewed"
// when that changes a decision or brings back a safe area.

import { type Blackout, type Rect, proposalToBlackout, sameRect } from "./geometry";
import type { Decision, Decisions, Proposal } from "./review";

export interface InstanceEdits {
  blackouts: Blackout[];
  decisions: Decisions;
  safe: Blackout[];
  reviewed: boolean;
}

export type Touched = { instances: number[]; series: number[] };

interface UndoEntry {
  instances: Map<number, InstanceEdits>;
  crops: Map<number, Rect | null>;
}

const copyBox = (b: Blackout): Blackout => ({ ...b, frames: b.frames === "all" ? "all" : [...b.frames] });
const copyEdits = (e: InstanceEdits): InstanceEdits => ({
  blackouts: e.blackouts.map(copyBox),
  decisions: { ...e.decisions },
  safe: e.safe.map(copyBox),
  reviewed: e.reviewed,
});
const sameArea = (a: Blackout, b: Blackout) =>
  sameRect(a, b) && JSON.stringify(a.frames) === JSON.stringify(b.frames);
const isBoxOf = (b: Blackout, p: Proposal) => sameRect(b, p) && b.frames === "all";
const sameDecisions = (a: Decisions, b: Decisions) => {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
};

export class EditState {
  private instances = new Map<number, InstanceEdits>();
  private proposals = new Map<number, Proposal[]>();
  private crops = new Map<number, Rect | null>();
  private undoStack: UndoEntry[] = [];

  constructor(
    instances: Iterable<[number, InstanceEdits, Proposal[]?]>,
    crops: Iterable<[number, Rect | null]>,
  ) {
    for (const [id, e, proposals] of instances) {
      this.instances.set(id, copyEdits(e));
      this.proposals.set(id, proposals ?? []);
    }
    for (const [id, c] of crops) this.crops.set(id, c ? { ...c } : null);
  }

  edits(instanceId: number): InstanceEdits {
    const e = this.instances.get(instanceId);
    if (!e) throw new Error(`unknown instance ${instanceId}`);
    return e;
  }

  crop(seriesId: number): Rect | null {
    return this.crops.get(seriesId) ?? null;
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  private snapshot(instanceIds: number[], seriesIds: number[]): void {
    this.undoStack.push({
      instances: new Map(instanceIds.map((id) => [id, copyEdits(this.edits(id))])),
      crops: new Map(seriesIds.map((id) => [id, this.crop(id)])),
    });
  }

  /** Add blackouts (per instance id). A box never confirms an image by itself. */
  addBlackouts(boxes: Map<number, Blackout>): Touched {
    const ids = [...boxes.keys()];
    if (!ids.length) return { instances: [], series: [] };
    this.snapshot(ids, []);
    for (const [id, box] of boxes) this.edits(id).blackouts.push(box);
    return { instances: ids, series: [] };
  }

  /** Remove a box; if it was an accepted proposal's box, that proposal is undecided again. */
  removeBlackout(instanceId: number, index: number): Touched {
    this.snapshot([instanceId], []);
    const e = this.edits(instanceId);
    const [removed] = e.blackouts.splice(index, 1);
    for (const p of this.proposals.get(instanceId) ?? []) {
      if (removed && e.decisions[p.id] === "accepted" && isBoxOf(removed, p) && !e.blackouts.some((b) => isBoxOf(b, p))) {
        delete e.decisions[p.id];
        e.reviewed = false;
      }
    }
    return { instances: [instanceId], series: [] };
  }

  /** Accept (its box is added on every frame) or reject a proposal. */
  decide(instanceId: number, proposal: Proposal, decision: Decision): Touched {
    const e = this.edits(instanceId);
    if (e.decisions[proposal.id] === decision) return { instances: [], series: [] };
    this.snapshot([instanceId], []);
    if (decision === "accepted" && !e.blackouts.some((b) => isBoxOf(b, proposal)))
      e.blackouts.push(proposalToBlackout(proposal));
    if (decision === "rejected" && e.decisions[proposal.id] === "accepted") {
      const at = e.blackouts.findIndex((b) => isBoxOf(b, proposal));
      if (at >= 0) e.blackouts.splice(at, 1);
    }
    e.decisions[proposal.id] = decision;
    e.reviewed = false;
    return { instances: [instanceId], series: [] };
  }

  /** Mark areas safe (per instance id): the image must be confirmed again. */
  addSafe(areas: Map<number, Blackout>): Touched {
    const ids = [...areas.keys()];
    if (!ids.length) return { instances: [], series: [] };
    this.snapshot(ids, []);
    for (const [id, area] of areas) {
      const e = this.edits(id);
      e.safe.push(area);
      e.reviewed = false;
    }
    return { instances: ids, series: [] };
  }

  removeSafe(instanceId: number, index: number): Touched {
    this.snapshot([instanceId], []);
    this.edits(instanceId).safe.splice(index, 1);
    return { instances: [instanceId], series: [] };
  }

  setCrop(seriesId: number, crop: Rect | null): Touched {
    this.snapshot([], [seriesId]);
    this.crops.set(seriesId, crop ? { ...crop } : null);
    return { instances: [], series: [seriesId] };
  }

  /** The server's word after a confirmation (not an undoable change). */
  applyServer(instanceId: number, state: { blackouts: Blackout[]; decisions: Decisions; reviewed: boolean }): void {
    const e = this.edits(instanceId);
    e.blackouts = state.blackouts.map(copyBox);
    e.decisions = { ...state.decisions };
    e.reviewed = state.reviewed;
  }

  /** Restore the state before the last change; returns what it touched. */
  undo(): Touched {
    const entry = this.undoStack.pop();
    if (!entry) return { instances: [], series: [] };
    for (const [id, before] of entry.instances) {
      const now = this.edits(id);
      const safeBack = before.safe.some((a) => !now.safe.some((b) => sameArea(a, b)));
      const changed = !sameDecisions(before.decisions, now.decisions) || safeBack;
      this.instances.set(id, { ...before, reviewed: changed ? false : now.reviewed });
    }
    for (const [id, c] of entry.crops) this.crops.set(id, c);
    return { instances: [...entry.instances.keys()], series: [...entry.crops.keys()] };
  }
}
