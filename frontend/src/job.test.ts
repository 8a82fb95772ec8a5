import { describe, expect, it } from "vitest";
import { progressValue, type JobStatus } from "./job";

const base: JobStatus = { status: "retrieving", status_display: "", finished: false, expected: 10, completed: 4, message: "" };

describe("progressValue", () => {
  it("measures against the expected count", () => {
    expect(progressValue(base)).toEqual({ value: 4, max: 10 });
  });
  it("copes with a PACS that gave no count", () => {
    expect(progressValue({ ...base, expected: null, completed: 3 })).toEqual({ value: 3, max: 3 });
  });
  it("never shows more than full", () => {
    expect(progressValue({ ...base, expected: 2, completed: 5 })).toEqual({ value: 5, max: 5 });
  });
});
