// The import job page: poll the job's status and show it until it is finished.
export interface JobStatus {
  status: string;
  status_display: string;
  finished: boolean;
  expected: number | null;
  completed: number;
  message: string;
  [field: string]: unknown;
}

export function progressValue(s: JobStatus): { value: number; max: number } {
  const max = Math.max(s.expected ?? 0, s.completed, 1);
  return { value: Math.min(s.completed, max), max };
}

function show(root: HTMLElement, s: JobStatus): void {
  for (const el of root.querySelectorAll<HTMLElement>("[data-field]")) {
    const field = el.dataset.field!;
    if (field === "progress") {
      const { value, max } = progressValue(s);
      (el as HTMLProgressElement).max = max;
      (el as HTMLProgressElement).value = value;
    } else if (field in s) {
      const v = s[field];
      el.textContent = v === null || v === undefined ? "?" : String(v);
      if (field === "message") el.hidden = !s.message;
    }
  }
}

async function poll(root: HTMLElement, url: string): Promise<void> {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const status = (await response.json()) as JobStatus;
  show(root, status);
  if (status.finished) {
    window.location.reload(); // the finished page shows the actions (retry, fetch missing)
  } else {
    window.setTimeout(() => poll(root, url), 700);
  }
}

const root = typeof document !== "undefined" ? document.getElementById("job") : null;
const url = root?.dataset.jobStatusUrl;
if (root && url && !["done", "incomplete", "failed"].includes(root.dataset.status ?? "")) {
  void poll(root, url);
}
