// The author's edits: blackouts and "reviewed" per instance, one crop per series, and an
// undo stack of snapshots. Pure: saving to the server is the caller's job (it saves what
// each change reports as touched).

import type { Blackout, Rect } from "./geometry";

export interface InstanceEdits {
  blackouts: Blackout[];
  reviewed: boolean;
}

export type Touched = { instances: number[]; series: number[] };

interface UndoEntry {
  instances: Map<number, InstanceEdits>;
  crops: Map<number, Rect | null>;
}

const copyEdits = (e: InstanceEdits): InstanceEdits => ({
  blackouts: e.blackouts.map((b) => ({ ...b, frames: b.frames === "all" ? "all" : [...b.frames] })),
  reviewed: e.reviewed,
});

export class EditState {
  private instances = new Map<number, InstanceEdits>();
  private crops = new Map<number, Rect | null>();
  private undoStack: UndoEntry[] = [];

  constructor(
    instances: Iterable<[number, InstanceEdits]>,
    crops: Iterable<[number, Rect | null]>,
  ) {
    for (const [id, e] of instances) this.instances.set(id, copyEdits(e));
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

  /** Add blackouts (per instance id); every touched instance becomes reviewed. */
  addBlackouts(boxes: Map<number, Blackout>): Touched {
    const ids = [...boxes.keys()];
    if (!ids.length) return { instances: [], series: [] };
    this.snapshot(ids, []);
    for (const [id, box] of boxes) {
      const e = this.edits(id);
      e.blackouts.push(box);
      e.reviewed = true;
    }
    return { instances: ids, series: [] };
  }

  removeBlackout(instanceId: number, index: number): Touched {
    this.snapshot([instanceId], []);
    const e = this.edits(instanceId);
    e.blackouts.splice(index, 1);
    e.reviewed = true;
    return { instances: [instanceId], series: [] };
  }

  markReviewed(instanceId: number): Touched {
    this.snapshot([instanceId], []);
    this.edits(instanceId).reviewed = true;
    return { instances: [instanceId], series: [] };
  }

  setCrop(seriesId: number, crop: Rect | null): Touched {
    this.snapshot([], [seriesId]);
    this.crops.set(seriesId, crop ? { ...crop } : null);
    return { instances: [], series: [seriesId] };
  }

  /** Restore the state before the last change; returns what it touched. */
  undo(): Touched {
    const entry = this.undoStack.pop();
    if (!entry) return { instances: [], series: [] };
    for (const [id, e] of entry.instances) this.instances.set(id, e);
    for (const [id, c] of entry.crops) this.crops.set(id, c);
    return { instances: [...entry.instances.keys()], series: [...entry.crops.keys()] };
  }
}
