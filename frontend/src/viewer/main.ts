// The library viewer: a published case's images, read-only. The stack viewport (scrolling,
// W/L presets, zoom/pan, cine, counter) is the editor's; there are no editing tools here.
// The author's teaching annotations are drawn over the image and can be switched off.

import "./viewer.css";
import { type Annotation, annotationDefs, drawAnnotations } from "../editor/annotations";
import { StackView, type StackInstance, type StackSeries, el } from "../editor/viewport";

interface ViewerConfig {
  case_id: number;
  readonly: true;
  series: StackSeries<ViewerInstance>[];
}

interface ViewerInstance extends StackInstance {
  annotations: Annotation[];
}

declare global {
  interface Window {
    __viewerReady?: boolean;
    __viewerErrors?: string[];
  }
}

function main(): void {
  const root = document.getElementById("viewer");
  const data = document.getElementById("viewer-config");
  if (!root || !data) return;
  const errors: string[] = (window.__viewerErrors = []);
  const config = JSON.parse(data.textContent ?? "{}") as ViewerConfig;
  if (!config.series?.length) {
    root.textContent = "This case has no published images.";
    return;
  }
  const hooks = {
    onRender: () => {
      view.sizeOverlay();
      const shapes = drawAnnotations(view.instance.annotations, view.entry.frame, (p) => view.toCanvas(p));
      view.overlay.replaceChildren(annotationDefs(), ...shapes);
      window.__viewerReady = true;
    },
  };
  // Each series opens on its key image, when the author chose one.
  const view = new StackView<ViewerInstance, StackSeries<ViewerInstance>>(config.series, "viewer", hooks, {
    openOnKeyImage: true,
  });
  const toggle = el("button", { type: "button", "data-testid": "annotations-toggle", "aria-pressed": "true" }, "Annotations");
  toggle.title = "Show or hide the teaching annotations";
  toggle.addEventListener("click", () => {
    const on = toggle.getAttribute("aria-pressed") !== "true";
    toggle.setAttribute("aria-pressed", String(on));
    view.overlay.classList.toggle("ann-hidden", !on);
  });
  const bar = el("div", { class: "ed-toolbar", role: "toolbar" });
  const picker = view.seriesPicker();
  if (picker) bar.append(picker);
  bar.append(...view.viewControls());
  if (config.series.some((s) => s.instances.some((i) => i.annotations.length))) bar.append(toggle);
  const alert = el("div", { role: "alert", class: "ed-alert", "data-testid": "alert" });
  const status = el("div", { class: "ed-status" }, view.counter);
  root.replaceChildren(bar, alert, view.stage(), status);
  view.start().catch((err: unknown) => {
    errors.push(String(err));
    alert.textContent = `The viewer could not start: ${err}`;
  });
}

main();
