import { describe, expect, it } from "vitest";
import { confirmMessage } from "./confirm";

describe("confirmMessage", () => {
  it("returns the trimmed question of a form that asks", () => {
    const form = { dataset: { confirm: "  Withdraw this case? " } } as unknown as HTMLFormElement;
    expect(confirmMessage(form)).toBe("Withdraw this case?");
  });
  it("returns null for a form without data-confirm", () => {
    const form = { dataset: {} } as unknown as HTMLFormElement;
    expect(confirmMessage(form)).toBeNull();
  });
});
