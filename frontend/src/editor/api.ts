// Saving edits: JSON PUTs (and POSTs for confirmations) with Django's CSRF header; errors
// become Error messages.

import type { Blackout, Rect } from "./geometry";
import type { Decisions } from "./review";

export type Fetch = typeof fetch;

/** An image's review state as the server answers after a confirmation. */
export interface ReviewState {
  id: number;
  blackouts: Blackout[];
  decisions: Decisions;
  reviewed: boolean;
}

async function send<T>(
  fetchFn: Fetch,
  url: string,
  csrfToken: string,
  body: unknown,
  method: "PUT" | "POST" = "PUT",
): Promise<T> {
  let response: Response;
  try {
    response = await fetchFn(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(body),
    });
  } catch {
    throw new Error("The server could not be reached; your last change is not saved.");
  }
  let data: { ok?: boolean; error?: string } & Partial<T> = {};
  try {
    data = await response.json();
  } catch {
    // a non-JSON error page
  }
  if (!response.ok || !data.ok) {
    throw new Error(data.error ?? `Saving failed (HTTP ${response.status}).`);
  }
  return data as T;
}

async function put(fetchFn: Fetch, url: string, csrfToken: string, body: unknown): Promise<void> {
  await send<object>(fetchFn, url, csrfToken, body);
}

export function saveEdits(
  fetchFn: Fetch,
  url: string,
  csrfToken: string,
  edits: { blackouts: Blackout[]; decisions: Decisions; safe: Blackout[] },
): Promise<void> {
  return put(fetchFn, url, csrfToken, {
    blackouts: edits.blackouts,
    decisions: edits.decisions,
    safe_regions: edits.safe,
  });
}

/** Confirm an image (optionally accepting what is undecided) or a whole series. */
export async function confirmReview(
  fetchFn: Fetch,
  url: string,
  csrfToken: string,
  body: { accept_all?: boolean } = {},
): Promise<ReviewState[]> {
  const data = await send<{ instances: ReviewState[] }>(fetchFn, url, csrfToken, body, "POST");
  return data.instances ?? [];
}

export function saveCrop(fetchFn: Fetch, url: string, csrfToken: string, crop: Rect | null): Promise<void> {
  return put(fetchFn, url, csrfToken, { crop });
}

export function saveAnnotations(
  fetchFn: Fetch,
  url: string,
  csrfToken: string,
  annotations: unknown[],
): Promise<void> {
  return put(fetchFn, url, csrfToken, { annotations });
}

export function saveKeyImage(
  fetchFn: Fetch,
  url: string,
  csrfToken: string,
  instance: number | null,
): Promise<void> {
  return put(fetchFn, url, csrfToken, { instance });
}
