// The image editor: scroll a series, black out burned-in text, crop; every change is saved.
//
// cornerstone3D renders a STACK viewport (one imageId per frame); boxes are drawn by our
// own drag handling in "Box"/"Crop" mode and shown in an SVG overlay that follows the
// camera. Pixel maths lives in geometry.ts, the edits and undo stack in state.ts.

import {
  Enums as csEnums,
  RenderingEngine,
  init as coreInit,
  type Types,
} from "@cornerstonejs/core";
import { init as dicomImageLoaderInit } from "@cornerstonejs/dicom-image-loader";
import {
  Enums as toolEnums,
  PanTool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
  init as toolsInit,
} from "@cornerstonejs/tools";

import { saveCrop, saveEdits } from "./api";
import "./editor.css";
import {
  type Blackout,
  type ImageGeometry,
  type InstanceShape,
  type Point2,
  type Rect,
  type Scope,
  type StackEntry,
  appliesTo,
  cropFor,
  dragToPixelRect,
  imageIdFor,
  isUsable,
  pixelToWorld,
  propagate,
  proposalAccepted,
  proposalToBlackout,
  rectCorners,
  stackEntries,
  voiRange,
  worldToPixel,
} from "./geometry";
import { EditState, type Touched } from "./state";

interface Proposed extends Rect {
  frame: number | null;
  text: string;
  confidence: number;
  matches: string | null;
}

interface InstanceConfig {
  id: number;
  url: string;
  frames: number;
  rows: number;
  columns: number;
  needs_review: boolean;
  reviewed: boolean;
  edits_url: string;
  proposed: Proposed[];
  blackouts: Blackout[];
}

interface SeriesConfig {
  id: number;
  description: string;
  modality: string;
  crop: Rect | null;
  crop_url: string;
  instances: InstanceConfig[];
}

interface EditorConfig {
  case_id: number;
  csrf_token: string;
  series: SeriesConfig[];
}

declare global {
  interface Window {
    __editorReady?: boolean;
    __editorErrors?: string[];
  }
}

type Mode = "navigate" | "box" | "crop";

const SVG_NS = "http://www.w3.org/2000/svg";
const PRESETS: [string, number, number][] = [
  ["Soft tissue", 40, 400],
  ["Lung", -600, 1500],
  ["Bone", 300, 1500],
];
const ENGINE_ID = "editor-engine";
const VIEWPORT_ID = "editor-viewport";
const TOOL_GROUP_ID = "editor-tools";

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

const describeFrames = (b: Blackout) =>
  b.frames === "all" ? "all frames" : `frame ${b.frames.map((f) => f + 1).join(", ")}`;

class Editor {
  private series: SeriesConfig;
  private entries: StackEntry[] = [];
  private state: EditState;
  private rejected = new Set<string>(); // `${instanceId}:${index}`, this page view only
  private mode: Mode = "navigate";
  private viewport!: Types.IStackViewport;
  private drag: { start: Point2; end: Point2 } | null = null;
  private cineTimer: number | null = null;
  private pendingSaves = 0;
  private saveChains = new Map<string, Promise<void>>();

  // DOM
  private root: HTMLElement;
  private element = el("div", { class: "ed-viewport", "data-testid": "viewport" });
  private overlay = svg("svg", { class: "ed-overlay" }) as SVGSVGElement;
  private counter = el("span", { "data-testid": "frame-counter" });
  private saveStatus = el("span", { "data-testid": "save-status", class: "ed-save" });
  private alert = el("div", { role: "alert", class: "ed-alert", "data-testid": "alert" });
  private scope = el("select", { "data-testid": "scope", "aria-label": "Box applies to" });
  private side = el("aside", { class: "ed-side" });
  private modeButtons = new Map<Mode, HTMLButtonElement>();
  private undoButton = el("button", { type: "button", "data-testid": "undo" }, "Undo");
  private cineButton = el("button", { type: "button", "data-testid": "cine" }, "Play");
  private removeCrop = el("button", { type: "button", "data-testid": "remove-crop" }, "Remove crop");

  constructor(
    root: HTMLElement,
    private config: EditorConfig,
  ) {
    this.root = root;
    this.series = config.series[0];
    const instances: [number, { blackouts: Blackout[]; reviewed: boolean }][] = [];
    for (const s of config.series)
      for (const i of s.instances) instances.push([i.id, { blackouts: i.blackouts, reviewed: i.reviewed }]);
    this.state = new EditState(
      instances,
      config.series.map((s) => [s.id, s.crop]),
    );
    this.buildDom();
  }

  // ---- layout ---------------------------------------------------------------------------

  private buildDom(): void {
    const bar = el("div", { class: "ed-toolbar", role: "toolbar" });
    if (this.config.series.length > 1) {
      const picker = el("select", { "data-testid": "series", "aria-label": "Series" });
      this.config.series.forEach((s, i) =>
        picker.append(el("option", { value: String(i) }, `${s.modality} · ${s.description || `series ${s.id}`}`)),
      );
      picker.addEventListener("change", () => void this.showSeries(this.config.series[Number(picker.value)]));
      bar.append(el("label", {}, "Series ", picker));
    }
    const modes: [Mode, string, string][] = [
      ["navigate", "Navigate", "nav-mode"],
      ["box", "Box", "box-mode"],
      ["crop", "Crop", "crop-mode"],
    ];
    const modeGroup = el("span", { class: "ed-group" });
    for (const [mode, label, testid] of modes) {
      const b = el("button", { type: "button", "data-testid": testid, "aria-pressed": "false" }, label);
      b.addEventListener("click", () => this.setMode(mode));
      this.modeButtons.set(mode, b);
      modeGroup.append(b);
    }
    for (const [value, label] of [
      ["frame", "this frame"],
      ["instance", "all frames of this image"],
      ["series", "every image of the series"],
    ])
      this.scope.append(el("option", { value }, label));
    this.scope.value = "instance";
    this.undoButton.addEventListener("click", () => this.undo());
    this.removeCrop.addEventListener("click", () => this.apply(this.state.setCrop(this.series.id, null)));
    const presets = el("span", { class: "ed-group" });
    for (const [name, center, width] of PRESETS) {
      const b = el("button", { type: "button", "data-testid": `preset-${name.toLowerCase().replace(" ", "-")}` }, name);
      b.title = `W ${width} / L ${center}`;
      b.addEventListener("click", () => {
        this.viewport.setProperties({ voiRange: voiRange(center, width) });
        this.viewport.render();
      });
      presets.append(b);
    }
    const reset = el("button", { type: "button", "data-testid": "reset-view" }, "Reset view");
    reset.addEventListener("click", () => {
      this.viewport.resetCamera();
      this.viewport.resetProperties();
      this.viewport.render();
    });
    this.cineButton.addEventListener("click", () => this.toggleCine());
    bar.append(
      modeGroup,
      el("label", {}, "Box applies to ", this.scope),
      this.undoButton,
      this.removeCrop,
      presets,
      reset,
      this.cineButton,
    );

    const stage = el("div", { class: "ed-stage" }, this.element, this.overlay);
    const status = el("div", { class: "ed-status" }, this.counter, this.saveStatus);
    const main = el("div", { class: "ed-main" }, el("div", { class: "ed-left" }, stage, status), this.side);
    this.root.replaceChildren(bar, this.alert, main);
    this.element.addEventListener("contextmenu", (e) => e.preventDefault());
    this.element.addEventListener("mousedown", (e) => this.onMouseDown(e));
    window.addEventListener("mousemove", (e) => this.onMouseMove(e));
    window.addEventListener("mouseup", (e) => this.onMouseUp(e));
  }

  // ---- cornerstone ----------------------------------------------------------------------

  async start(): Promise<void> {
    await coreInit();
    dicomImageLoaderInit({ maxWebWorkers: 1 });
    toolsInit();
    const engine = new RenderingEngine(ENGINE_ID);
    engine.enableElement({
      viewportId: VIEWPORT_ID,
      type: csEnums.ViewportType.STACK,
      element: this.element as HTMLDivElement,
    });
    this.viewport = engine.getViewport(VIEWPORT_ID) as Types.IStackViewport;

    for (const tool of [PanTool, ZoomTool, WindowLevelTool, StackScrollTool]) addTool(tool);
    const group = ToolGroupManager.createToolGroup(TOOL_GROUP_ID)!;
    for (const tool of [PanTool, ZoomTool, WindowLevelTool, StackScrollTool]) group.addTool(tool.toolName);
    group.addViewport(VIEWPORT_ID, ENGINE_ID);
    const { MouseBindings } = toolEnums;
    group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
    group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
    group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
    this.toolGroup = group;
    this.setMode("navigate");

    const redraw = () => this.drawOverlay();
    this.element.addEventListener(csEnums.Events.IMAGE_RENDERED, () => {
      redraw();
      window.__editorReady = true;
    });
    this.element.addEventListener(csEnums.Events.CAMERA_MODIFIED, redraw);
    this.element.addEventListener(csEnums.Events.STACK_NEW_IMAGE, () => {
      this.updateCounter();
      this.renderSide();
    });
    new ResizeObserver(() => {
      engine.resize(true, true);
      redraw();
    }).observe(this.element);

    await this.showSeries(this.series);
  }

  private toolGroup!: NonNullable<ReturnType<typeof ToolGroupManager.createToolGroup>>;

  private async showSeries(series: SeriesConfig): Promise<void> {
    this.stopCine();
    this.series = series;
    this.entries = stackEntries(series.instances.map((i) => i.frames));
    const imageIds = this.entries.map((e) => {
      const inst = series.instances[e.instance];
      return imageIdFor(new URL(inst.url, location.origin).href, e.frame, inst.frames);
    });
    await this.viewport.setStack(imageIds, 0);
    this.viewport.render();
    this.updateCounter();
    this.renderSide();
  }

  private setMode(mode: Mode): void {
    this.mode = mode;
    for (const [m, b] of this.modeButtons) b.setAttribute("aria-pressed", String(m === mode));
    this.element.dataset.mode = mode;
    if (mode === "navigate") {
      this.toolGroup.setToolActive(PanTool.toolName, {
        bindings: [{ mouseButton: toolEnums.MouseBindings.Primary }],
      });
    } else {
      this.toolGroup.setToolDisabled(PanTool.toolName);
    }
  }

  // ---- where we are ---------------------------------------------------------------------

  private get index(): number {
    return this.viewport?.getCurrentImageIdIndex() ?? 0;
  }

  private get entry(): StackEntry {
    return this.entries[this.index] ?? { instance: 0, frame: 0 };
  }

  private get instance(): InstanceConfig {
    return this.series.instances[this.entry.instance];
  }

  private shape(i: InstanceConfig): InstanceShape {
    return { id: i.id, frames: i.frames, rows: i.rows, columns: i.columns };
  }

  private updateCounter(): void {
    const { instance, frame } = this.entry;
    const inst = this.instance;
    const n = this.series.instances.length;
    this.counter.textContent =
      `image ${instance + 1} of ${n} · frame ${frame + 1} of ${Math.max(1, inst.frames)}`;
    this.cineButton.disabled = inst.frames <= 1;
  }

  // ---- coordinates ----------------------------------------------------------------------

  private geometry(): ImageGeometry | null {
    const data = this.viewport.getImageData();
    return data ? { origin: data.origin, spacing: data.spacing, direction: data.direction } : null;
  }

  private canvasPoint(e: MouseEvent): Types.Point2 {
    const r = this.element.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  /** Mouse position → image coordinates of the displayed image. */
  private toPixel(e: MouseEvent): Point2 | null {
    const g = this.geometry();
    if (!g) return null;
    return worldToPixel(g, this.viewport.canvasToWorld(this.canvasPoint(e)));
  }

  /** A pixel rect → its on-screen rect in overlay (canvas CSS pixel) coordinates. */
  private toScreen(rect: Rect): Rect | null {
    const g = this.geometry();
    if (!g) return null;
    const [a, b] = rectCorners(rect).map((p) => this.viewport.worldToCanvas(pixelToWorld(g, p) as Types.Point3));
    return {
      x: Math.min(a[0], b[0]),
      y: Math.min(a[1], b[1]),
      width: Math.abs(b[0] - a[0]),
      height: Math.abs(b[1] - a[1]),
    };
  }

  // ---- drawing boxes --------------------------------------------------------------------

  private onMouseDown(e: MouseEvent): void {
    if (this.mode === "navigate" || e.button !== 0) return;
    const p = this.toPixel(e);
    if (!p) return;
    e.preventDefault();
    this.drag = { start: p, end: p };
  }

  private onMouseMove(e: MouseEvent): void {
    if (!this.drag) return;
    const p = this.toPixel(e);
    if (p) this.drag.end = p;
    this.drawOverlay();
  }

  private onMouseUp(e: MouseEvent): void {
    if (!this.drag) return;
    const p = this.toPixel(e);
    if (p) this.drag.end = p;
    const rect = dragToPixelRect(this.drag.start, this.drag.end, this.instance);
    this.drag = null;
    if (!isUsable(rect)) {
      this.drawOverlay();
      return;
    }
    if (this.mode === "crop") {
      this.apply(this.state.setCrop(this.series.id, rect));
    } else {
      const boxes = propagate(
        rect,
        this.scope.value as Scope,
        this.shape(this.instance),
        this.entry.frame,
        this.series.instances.map((i) => this.shape(i)),
      );
      this.apply(this.state.addBlackouts(boxes));
    }
  }

  private drawOverlay(): void {
    if (!this.viewport) return;
    const inst = this.instance;
    const { frame } = this.entry;
    const shapes: SVGElement[] = [];
    const box = (rect: Rect, cls: string) => {
      const s = this.toScreen(rect);
      if (s) shapes.push(svg("rect", { ...s, class: cls }));
      return s;
    };
    this.overlay.setAttribute("width", String(this.element.clientWidth));
    this.overlay.setAttribute("height", String(this.element.clientHeight));

    const crop = cropFor(this.state.crop(this.series.id), inst);
    if (crop) {
      const whole = this.toScreen({ x: 0, y: 0, width: inst.columns, height: inst.rows });
      const c = this.toScreen(crop);
      if (whole && c) {
        const path = (r: Rect) => `M${r.x},${r.y}h${r.width}v${r.height}h${-r.width}Z`;
        shapes.push(svg("path", { d: path(whole) + path(c), class: "ed-crop-dim", "fill-rule": "evenodd" }));
        shapes.push(svg("rect", { ...c, class: "ed-crop" }));
      }
    }
    for (const b of this.state.edits(inst.id).blackouts) if (appliesTo(b.frames, frame)) box(b, "ed-blackout");
    inst.proposed.forEach((p, i) => {
      if (p.frame !== null && p.frame !== frame) return;
      if (this.proposalStatus(inst, i) !== "pending") return;
      const s = box(p, "ed-proposed");
      if (s) {
        const label = svg("text", { x: s.x, y: Math.max(12, s.y - 3), class: "ed-proposed-label" });
        label.textContent = `${i + 1}: ${p.text}`;
        shapes.push(label);
      }
    });
    if (this.drag) {
      const r = dragToPixelRect(this.drag.start, this.drag.end, inst);
      if (r) box(r, this.mode === "crop" ? "ed-crop" : "ed-drawing");
    }
    this.overlay.replaceChildren(...shapes);
  }

  // ---- side panel -----------------------------------------------------------------------

  private proposalStatus(inst: InstanceConfig, i: number): "pending" | "accepted" | "rejected" {
    if (proposalAccepted(inst.proposed[i], this.state.edits(inst.id).blackouts)) return "accepted";
    return this.rejected.has(`${inst.id}:${i}`) ? "rejected" : "pending";
  }

  private renderSide(): void {
    const inst = this.instance;
    const edits = this.state.edits(inst.id);
    const heading = el("h2", {}, `Image ${this.entry.instance + 1}`);
    if (inst.needs_review && !edits.reviewed)
      heading.append(" ", el("span", { class: "ed-badge", "data-testid": "needs-review" }, "needs review"));
    else if (edits.reviewed) heading.append(" ", el("span", { class: "ed-badge ed-ok", "data-testid": "reviewed" }, "reviewed"));

    const proposals = el("ol", { "data-testid": "proposals", class: "ed-list" });
    inst.proposed.forEach((p, i) => {
      const status = this.proposalStatus(inst, i);
      const where = p.frame === null ? "all frames" : `frame ${p.frame + 1}`;
      const item = el(
        "li",
        { "data-status": status },
        el("q", {}, p.text),
        ` ${where}, ${p.confidence}%${p.matches ? ` · matches ${p.matches}` : ""} `,
      );
      if (status === "pending") {
        const accept = el("button", { type: "button", "data-testid": `accept-${i}` }, "Accept");
        accept.addEventListener("click", () =>
          this.apply(this.state.addBlackouts(new Map([[inst.id, proposalToBlackout(p)]]))),
        );
        const reject = el("button", { type: "button", "data-testid": `reject-${i}` }, "Reject");
        reject.addEventListener("click", () => {
          this.rejected.add(`${inst.id}:${i}`);
          this.renderSide();
          this.drawOverlay();
        });
        item.append(accept, " ", reject);
      } else {
        item.append(el("em", {}, status));
      }
      proposals.append(item);
    });

    const boxes = el("ol", { "data-testid": "blackout-list", class: "ed-list" });
    edits.blackouts.forEach((b, i) => {
      const remove = el("button", { type: "button", "data-testid": `remove-${i}` }, "Remove");
      remove.addEventListener("click", () => this.apply(this.state.removeBlackout(inst.id, i)));
      boxes.append(el("li", {}, `${b.width}×${b.height} at (${b.x}, ${b.y}), ${describeFrames(b)} `, remove));
    });

    const noText = el("button", { type: "button", "data-testid": "no-text" }, "No identifying text here");
    noText.disabled = edits.reviewed;
    noText.addEventListener("click", () => this.apply(this.state.markReviewed(inst.id)));

    const crop = this.state.crop(this.series.id);
    this.side.replaceChildren(
      heading,
      el("h3", {}, "Text found by OCR"),
      inst.proposed.length ? proposals : el("p", {}, "None."),
      el("h3", {}, "Black boxes"),
      edits.blackouts.length ? boxes : el("p", {}, "None yet."),
      noText,
      el("h3", {}, "Crop (whole series)"),
      el(
        "p",
        { "data-testid": "crop-info" },
        crop ? `${crop.width}×${crop.height} at (${crop.x}, ${crop.y})` : "No crop.",
      ),
    );
    this.undoButton.disabled = !this.state.canUndo;
    this.removeCrop.disabled = crop === null;
  }

  // ---- changes and saving ---------------------------------------------------------------

  private undo(): void {
    this.apply(this.state.undo());
  }

  /**
   * One save at a time per URL, each sending the state as it is when it goes out: saves
   * can never land out of order and leave an older set of boxes on the server.
   */
  private queue(url: string, send: () => Promise<void>): Promise<void> {
    const next = (this.saveChains.get(url) ?? Promise.resolve()).catch(() => undefined).then(send);
    this.saveChains.set(url, next);
    return next;
  }

  private apply(touched: Touched): void {
    this.renderSide();
    this.drawOverlay();
    const all = this.config.series.flatMap((s) => s.instances);
    const saves: Promise<void>[] = [];
    for (const id of touched.instances) {
      const inst = all.find((i) => i.id === id)!;
      saves.push(
        this.queue(inst.edits_url, () =>
          saveEdits(fetch, inst.edits_url, this.config.csrf_token, this.state.edits(id)),
        ),
      );
    }
    for (const id of touched.series) {
      const s = this.config.series.find((x) => x.id === id)!;
      saves.push(
        this.queue(s.crop_url, () =>
          saveCrop(fetch, s.crop_url, this.config.csrf_token, this.state.crop(id)),
        ),
      );
    }
    if (!saves.length) return;
    this.pendingSaves++;
    this.saveStatus.textContent = "Saving…";
    this.saveStatus.dataset.state = "saving";
    Promise.all(saves)
      .then(() => {
        this.alert.textContent = "";
        if (--this.pendingSaves === 0) {
          this.saveStatus.textContent = "All changes saved";
          this.saveStatus.dataset.state = "saved";
        }
      })
      .catch((err: Error) => {
        this.pendingSaves--;
        this.alert.textContent = err.message;
        this.saveStatus.textContent = "Not saved";
        this.saveStatus.dataset.state = "error";
      });
  }

  // ---- cine -----------------------------------------------------------------------------

  private toggleCine(): void {
    if (this.cineTimer !== null) return this.stopCine();
    const inst = this.entry.instance;
    const first = this.entries.findIndex((e) => e.instance === inst);
    const count = this.series.instances[inst].frames;
    this.cineButton.textContent = "Pause";
    this.cineTimer = window.setInterval(() => {
      const next = first + ((this.index - first + 1) % count);
      void this.viewport.setImageIdIndex(next);
    }, 100);
  }

  private stopCine(): void {
    if (this.cineTimer !== null) window.clearInterval(this.cineTimer);
    this.cineTimer = null;
    this.cineButton.textContent = "Play";
  }
}

function main(): void {
  const root = document.getElementById("editor");
  const data = document.getElementById("editor-config");
  if (!root || !data) return;
  const errors: string[] = (window.__editorErrors = []);
  const config = JSON.parse(data.textContent ?? "{}") as EditorConfig;
  if (!config.series?.length) {
    root.textContent = "This case has no images yet.";
    return;
  }
  new Editor(root, config).start().catch((err: unknown) => {
    errors.push(String(err));
    const alert = root.querySelector('[role="alert"]') ?? root;
    alert.textContent = `The viewer could not start: ${err}`;
  });
}

main();
