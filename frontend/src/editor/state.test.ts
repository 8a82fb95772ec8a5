import { describe, expect, it } from "vitest";

import type { Proposal } from "./review";
import { EditState } from "./state";

const box = { x: 1, y: 2, width: 3, height: 4, frames: "all" as const };
const name: Proposal = { id: "p0", frame: null, x: 0, y: 0, width: 50, height: 10, kind: "text", matches: "PatientName", confidence: 0.9 };
const band: Proposal = { id: "p1", frame: null, x: 0, y: 20, width: 80, height: 10, kind: "static-overlay", matches: null, confidence: 0.8 };
const nameBox = { x: 0, y: 0, width: 50, height: 10, frames: "all" as const };

function fresh(reviewed = false) {
  return new EditState(
    [
      [1, { blackouts: [], decisions: {}, safe: [], reviewed }, [name, band]],
      [2, { blackouts: [], decisions: {}, safe: [], reviewed: false }],
    ],
    [[9, null]],
  );
}

describe("EditState", () => {
  it("adding a box reports what to save and never confirms the image", () => {
    const s = fresh();
    expect(s.addBlackouts(new Map([[1, box]]))).toEqual({ instances: [1], series: [] });
    expect(s.edits(1)).toEqual({ blackouts: [box], decisions: {}, safe: [], reviewed: false });
  });
  it("accepting a proposal adds its box on every frame; rejecting it takes the box away", () => {
    const s = fresh();
    s.decide(1, name, "accepted");
    expect(s.edits(1).blackouts).toEqual([nameBox]);
    expect(s.edits(1).decisions).toEqual({ p0: "accepted" });
    s.decide(1, name, "rejected");
    expect(s.edits(1).blackouts).toEqual([]);
    expect(s.edits(1).decisions).toEqual({ p0: "rejected" });
  });
  it("a changed decision or a new safe area withdraws the confirmation", () => {
    const s = fresh(true);
    s.decide(1, band, "rejected");
    expect(s.edits(1).reviewed).toBe(false);
    s.applyServer(1, { blackouts: [], decisions: { p1: "rejected", p0: "accepted" }, reviewed: true });
    s.addSafe(new Map([[1, box]]));
    expect(s.edits(1)).toMatchObject({ safe: [box], reviewed: false });
  });
  it("removing an accepted proposal's box makes the proposal undecided again", () => {
    const s = fresh();
    s.decide(1, name, "accepted");
    s.applyServer(1, { ...s.edits(1), reviewed: true });
    s.removeBlackout(1, 0);
    expect(s.edits(1)).toMatchObject({ blackouts: [], decisions: {}, reviewed: false });
  });
  it("undo restores boxes, decisions, safe areas and crop, newest first", () => {
    const s = fresh();
    s.addBlackouts(new Map([[1, box], [2, box]]));
    s.decide(1, band, "rejected");
    s.setCrop(9, { x: 0, y: 0, width: 10, height: 10 });
    expect(s.undo()).toEqual({ instances: [], series: [9] });
    expect(s.crop(9)).toBeNull();
    expect(s.undo()).toEqual({ instances: [1], series: [] });
    expect(s.edits(1).decisions).toEqual({});
    expect(s.undo()).toEqual({ instances: [1, 2], series: [] });
    expect(s.edits(1)).toEqual({ blackouts: [], decisions: {}, safe: [], reviewed: false });
    expect(s.canUndo).toBe(false);
    expect(s.undo()).toEqual({ instances: [], series: [] });
  });
  it("undo keeps a confirmation unless it changes a decision or brings back a safe area", () => {
    const s = fresh();
    s.decide(1, name, "accepted");
    s.decide(1, band, "rejected");
    s.addBlackouts(new Map([[1, box]]));
    s.applyServer(1, { ...s.edits(1), reviewed: true });
    s.undo(); // the extra box
    expect(s.edits(1).reviewed).toBe(true);
    s.undo(); // the rejection
    expect(s.edits(1).reviewed).toBe(false);
  });
  it("does not share arrays with the config it started from", () => {
    const initial = { blackouts: [{ ...box }], decisions: {}, safe: [{ ...box }], reviewed: true };
    const s = new EditState([[1, initial]], []);
    s.removeBlackout(1, 0);
    s.removeSafe(1, 0);
    expect(initial.blackouts).toHaveLength(1);
    expect(initial.safe).toHaveLength(1);
    s.undo();
    s.undo();
    expect(s.edits(1).blackouts).toEqual([box]);
  });
});
