import { describe, expect, it } from "vitest";

import { gateArea, gateStatus, pendingCount, proposalLabel, startPlace, type Proposal } from "./review";

const p = (id: string, over: Partial<Proposal> = {}): Proposal => ({
  id, frame: null, x: 0, y: 0, width: 10, height: 5, kind: "text", matches: null, confidence: 0.5, ...over,
});

describe("proposalLabel", () => {
  it("names the matched attribute, else the kind, never any text", () => {
    expect(proposalLabel(p("p0", { matches: "PatientName" }))).toBe("matches PatientName");
    expect(proposalLabel(p("p1", { kind: "static-overlay" }))).toBe("static overlay on every frame");
    expect(proposalLabel(p("p2", { kind: "outside-ultrasound-regions" }))).toBe("outside the ultrasound regions");
    expect(proposalLabel(p("p3"))).toBe("text");
  });
});

describe("pendingCount", () => {
  it("counts the proposals neither accepted nor rejected", () => {
    expect(pendingCount([p("p0"), p("p1"), p("p2")], { p0: "accepted", p2: "rejected" })).toBe(1);
  });
});

describe("gateStatus", () => {
  const region = { frame: 2, x: 10, y: 10, width: 20, height: 8 };
  it("is open until a box or a safe area covers the place on its frame", () => {
    expect(gateStatus(region, [], [])).toBe("open");
    expect(gateStatus(region, [{ x: 5, y: 5, width: 40, height: 20, frames: [1] }], [])).toBe("open");
    expect(gateStatus(region, [{ x: 5, y: 5, width: 40, height: 20, frames: [2] }], [])).toBe("boxed");
    expect(gateStatus(region, [{ x: 12, y: 5, width: 40, height: 20, frames: "all" }], [])).toBe("open");
    expect(gateStatus(region, [], [{ ...gateArea(region, "frame") }])).toBe("safe");
  });
  it("a place found on every frame needs an area on every frame", () => {
    const every = { ...region, frame: null };
    expect(gateStatus(every, [], [gateArea(every, "frame")])).toBe("safe");
    expect(gateStatus(every, [{ ...every, frames: [0] }], [])).toBe("open");
  });
});

describe("startPlace", () => {
  it("reads ?image=&frame= (1-based) and ignores anything else", () => {
    expect(startPlace("?image=12&frame=3")).toEqual({ instance: 12, frame: 2 });
    expect(startPlace("?image=12")).toEqual({ instance: 12, frame: 0 });
    expect(startPlace("?image=x")).toBeNull();
    expect(startPlace("")).toBeNull();
  });
});
