// Saving edits: JSON PUTs with Django's CSRF header; errors become Error messages.

import type { Blackout, Rect } from "./geometry";

export type Fetch = typeof fetch;

async function put(fetchFn: Fetch, url: string, csrfToken: string, body: unknown): Promise<void> {
  let response: Response;
  try {
    response = await fetchFn(url, {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify(body),
    });
  } catch {
    throw new Error("The server could not be reached; your last change is not saved.");
  }
  let data: { ok?: boolean; error?: string } = {};
  try {
    data = await response.json();
  } catch {
    // a non-JSON error page
  }
  if (!response.ok || !data.ok) {
    throw new Error(data.error ?? `Saving failed (HTTP ${response.status}).`);
  }
}

export function saveEdits(
  fetchFn: Fetch,
  url: string,
  csrfToken: string,
  edits: { blackouts: Blackout[]; reviewed: boolean },
): Promise<void> {
  return put(fetchFn, url, csrfToken, { blackouts: edits.blackouts, reviewed: edits.reviewed });
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
