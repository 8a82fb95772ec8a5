import { describe, expect, it } from "vitest";

import { EditState } from "./state";

const box = { x: 1, y: 2, width: 3, height: 4, frames: "all" as const };

function fresh() {
  return new EditState(
    [
      [1, { blackouts: [], reviewed: false }],
      [2, { blackouts: [], reviewed: false }],
    ],
    [[9, null]],
  );
}

describe("EditState", () => {
  it("adding a box marks the image reviewed and reports what to save", () => {
    const s = fresh();
    expect(s.addBlackouts(new Map([[1, box]]))).toEqual({ instances: [1], series: [] });
    expect(s.edits(1)).toEqual({ blackouts: [box], reviewed: true });
    expect(s.edits(2).reviewed).toBe(false);
  });
  it("undo restores boxes, reviewed state and crop, newest first", () => {
    const s = fresh();
    s.addBlackouts(new Map([[1, box], [2, box]]));
    s.setCrop(9, { x: 0, y: 0, width: 10, height: 10 });
    expect(s.undo()).toEqual({ instances: [], series: [9] });
    expect(s.crop(9)).toBeNull();
    expect(s.undo()).toEqual({ instances: [1, 2], series: [] });
    expect(s.edits(1)).toEqual({ blackouts: [], reviewed: false });
    expect(s.edits(2)).toEqual({ blackouts: [], reviewed: false });
    expect(s.canUndo).toBe(false);
    expect(s.undo()).toEqual({ instances: [], series: [] });
  });
  it("does not share arrays with the config it started from", () => {
    const initial = { blackouts: [{ ...box }], reviewed: true };
    const s = new EditState([[1, initial]], []);
    s.removeBlackout(1, 0);
    expect(initial.blackouts).toHaveLength(1);
    s.undo();
    expect(s.edits(1).blackouts).toEqual([box]);
  });
  it("marking reviewed keeps the boxes", () => {
    const s = fresh();
    s.markReviewed(2);
    expect(s.edits(2)).toEqual({ blackouts: [], reviewed: true });
  });
});
