import { describe, expect, it } from "vitest";

import {
  clipRect,
  dragToPixelRect,
  imageIdFor,
  pixelToWorld,
  propagate,
  proposalToBlackout,
  stackEntries,
  voiRange,
  worldToPixel,
} from "./geometry";

const size = { rows: 240, columns: 320 };

describe("dragToPixelRect", () => {
  it("covers every pixel the drag touches, whichever way it was dragged", () => {
    expect(dragToPixelRect([10.4, 20.6], [3.2, 5.9], size)).toEqual({ x: 3, y: 5, width: 8, height: 16 });
  });
  it("clips to the image", () => {
    expect(dragToPixelRect([-30, -4], [400, 10.2], size)).toEqual({ x: 0, y: 0, width: 320, height: 11 });
  });
  it("is null outside the image", () => {
    expect(dragToPixelRect([330, 5], [400, 10], size)).toBeNull();
  });
});

describe("propagate", () => {
  const cine = { id: 1, frames: 3, rows: 240, columns: 320 };
  const small = { id: 2, frames: 1, rows: 100, columns: 100 };
  const rect = { x: 50, y: 80, width: 100, height: 40 };

  it("keeps a box to the current frame", () => {
    expect(propagate(rect, "frame", cine, 2, [cine, small])).toEqual(new Map([[1, { ...rect, frames: [2] }]]));
  });
  it("uses all frames on a single-frame image", () => {
    expect(propagate(rect, "frame", small, 0, [cine, small]).get(2)?.frames).toBe("all");
  });
  it("copies a box to all frames of the image", () => {
    expect(propagate(rect, "instance", cine, 1, [cine, small])).toEqual(new Map([[1, { ...rect, frames: "all" }]]));
  });
  it("copies a box to every image of the series, clipped to each", () => {
    const out = propagate(rect, "series", cine, 0, [cine, small]);
    expect(out.get(1)).toEqual({ ...rect, frames: "all" });
    expect(out.get(2)).toEqual({ x: 50, y: 80, width: 50, height: 20, frames: "all" });
  });
  it("skips images the box misses", () => {
    const out = propagate({ x: 200, y: 200, width: 10, height: 10 }, "series", cine, 0, [cine, small]);
    expect([...out.keys()]).toEqual([1]);
  });
});

describe("proposals", () => {
  const p = { x: 8, y: 6, width: 200, height: 22, frame: null };
  it("become all-frame blackouts when found on every frame", () => {
    expect(proposalToBlackout(p)).toEqual({ x: 8, y: 6, width: 200, height: 22, frames: "all" });
    expect(proposalToBlackout({ ...p, frame: 1 }).frames).toEqual("all");
  });
});

describe("world and pixel coordinates", () => {
  const g = { origin: [10, -5, 3], spacing: [0.5, 0.25], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
  it("put the first pixel's centre at the origin", () => {
    expect(worldToPixel(g, [10, -5, 3])).toEqual([0.5, 0.5]);
    expect(pixelToWorld(g, [0.5, 0.5])).toEqual([10, -5, 3]);
  });
  it("round-trip", () => {
    const w = pixelToWorld(g, [17, 42]);
    const [x, y] = worldToPixel(g, w);
    expect(x).toBeCloseTo(17);
    expect(y).toBeCloseTo(42);
  });
  it("follow the row and column directions", () => {
    const flipped = { ...g, direction: [0, 1, 0, 1, 0, 0, 0, 0, 1] };
    expect(pixelToWorld(flipped, [2.5, 4.5])).toEqual([10 + 4 * 0.25, -5 + 2 * 0.5, 3]);
  });
});

describe("stack", () => {
  it("has one entry per frame", () => {
    expect(stackEntries([3, 1])).toEqual([
      { instance: 0, frame: 0 },
      { instance: 0, frame: 1 },
      { instance: 0, frame: 2 },
      { instance: 1, frame: 0 },
    ]);
  });
  it("addresses frames 1-based as dicom-image-loader expects", () => {
    expect(imageIdFor("http://h/i/12/dicom", 0, 3)).toBe("wadouri:http://h/i/12/dicom?frame=1");
    expect(imageIdFor("http://h/i/12/dicom?a=b", 2, 3)).toBe("wadouri:http://h/i/12/dicom?a=b&frame=3");
    expect(imageIdFor("http://h/i/13/dicom", 0, 1)).toBe("wadouri:http://h/i/13/dicom");
  });
  it("turns presets into VOI ranges", () => {
    expect(voiRange(40, 400)).toEqual({ lower: -160, upper: 240 });
  });
  it("clips a crop", () => {
    expect(clipRect({ x: 300, y: 0, width: 50, height: 10 }, size)).toEqual({ x: 300, y: 0, width: 20, height: 10 });
  });
});
