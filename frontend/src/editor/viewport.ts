// The stack viewport shared by the editor and the read-only library viewer: cornerstone3D
// STACK viewport (one imageId per frame), wheel scrolling, W/L presets, zoom/pan, cine and
// the frame counter, plus an SVG overlay that the caller draws on.

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

import {
  type ImageGeometry,
  type Point2,
  type Rect,
  type StackEntry,
  imageIdFor,
  pixelToWorld,
  rectCorners,
  stackEntries,
  voiRange,
  worldToPixel,
} from "./geometry";

export interface StackInstance {
  id: number;
  url: string;
  frames: number;
  rows: number;
  columns: number;
}

export interface StackSeries<I extends StackInstance = StackInstance> {
  id: number;
  description: string;
  modality: string;
  /** The series' key image (an instance id), if the author chose one. */
  key_instance?: number | null;
  instances: I[];
}

export interface StackOptions {
  /** Open each series on its key image rather than its first image. */
  openOnKeyImage?: boolean;
}

export interface StackHooks {
  /** After every render (the overlay follows the camera and the image). */
  onRender?: () => void;
  /** After the displayed image changed (scrolling, cine, another series). */
  onNewImage?: () => void;
}

export const SVG_NS = "http://www.w3.org/2000/svg";
export const PRESETS: [string, number, number][] = [
  ["Soft tissue", 40, 400],
  ["Lung", -600, 1500],
  ["Bone", 300, 1500],
];

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

export function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

export class StackView<I extends StackInstance, S extends StackSeries<I>> {
  series: S;
  entries: StackEntry[] = [];
  viewport!: Types.IStackViewport;
  readonly element = el("div", { class: "ed-viewport", "data-testid": "viewport" });
  readonly overlay = svg("svg", { class: "ed-overlay" }) as SVGSVGElement;
  readonly counter = el("span", { "data-testid": "frame-counter" });
  readonly cineButton = el("button", { type: "button", "data-testid": "cine" }, "Play");
  private toolGroup!: NonNullable<ReturnType<typeof ToolGroupManager.createToolGroup>>;
  private cineTimer: number | null = null;
  private panOnPrimary = true;
  private picker: HTMLSelectElement | null = null;

  constructor(
    private allSeries: S[],
    private name: string,
    private hooks: StackHooks = {},
    private options: StackOptions = {},
  ) {
    this.series = allSeries[0];
    this.element.addEventListener("contextmenu", (e) => e.preventDefault());
    this.cineButton.addEventListener("click", () => this.toggleCine());
  }

  // ---- controls -------------------------------------------------------------------------

  /** A series picker, when there is more than one series. */
  seriesPicker(): HTMLElement | null {
    if (this.allSeries.length < 2) return null;
    const picker = el("select", { "data-testid": "series", "aria-label": "Series" });
    this.picker = picker;
    this.allSeries.forEach((s, i) =>
      picker.append(el("option", { value: String(i) }, `${s.modality} · ${s.description || `series ${s.id}`}`)),
    );
    picker.addEventListener("change", () => void this.showSeries(this.allSeries[Number(picker.value)]));
    return el("label", {}, "Series ", picker);
  }

  /** W/L presets, reset view and cine. */
  viewControls(): HTMLElement[] {
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
    return [presets, reset, this.cineButton];
  }

  /** The viewport with its overlay. */
  stage(): HTMLElement {
    return el("div", { class: "ed-stage" }, this.element, this.overlay);
  }

  // ---- cornerstone ----------------------------------------------------------------------

  async start(): Promise<void> {
    await coreInit();
    dicomImageLoaderInit({ maxWebWorkers: 1 });
    toolsInit();
    const engineId = `${this.name}-engine`;
    const viewportId = `${this.name}-viewport`;
    const engine = new RenderingEngine(engineId);
    engine.enableElement({
      viewportId,
      type: csEnums.ViewportType.STACK,
      element: this.element as HTMLDivElement,
    });
    this.viewport = engine.getViewport(viewportId) as Types.IStackViewport;

    const tools = [PanTool, ZoomTool, WindowLevelTool, StackScrollTool];
    for (const tool of tools) addTool(tool);
    const group = ToolGroupManager.createToolGroup(`${this.name}-tools`)!;
    for (const tool of tools) group.addTool(tool.toolName);
    group.addViewport(viewportId, engineId);
    const { MouseBindings } = toolEnums;
    group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
    group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
    group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
    this.toolGroup = group;
    this.setPan(this.panOnPrimary);

    const redraw = () => this.hooks.onRender?.();
    this.element.addEventListener(csEnums.Events.IMAGE_RENDERED, redraw);
    this.element.addEventListener(csEnums.Events.CAMERA_MODIFIED, redraw);
    this.element.addEventListener(csEnums.Events.STACK_NEW_IMAGE, () => {
      this.updateCounter();
      this.hooks.onNewImage?.();
    });
    new ResizeObserver(() => {
      engine.resize(true, true);
      redraw();
    }).observe(this.element);

    await this.showSeries(this.series);
  }

  /** Pan on the primary button (navigating), or leave it to the caller (drawing). */
  setPan(on: boolean): void {
    this.panOnPrimary = on;
    if (!this.toolGroup) return;
    if (on)
      this.toolGroup.setToolActive(PanTool.toolName, {
        bindings: [{ mouseButton: toolEnums.MouseBindings.Primary }],
      });
    else this.toolGroup.setToolDisabled(PanTool.toolName);
  }

  async showSeries(series: S, index?: number): Promise<void> {
    this.stopCine();
    this.series = series;
    if (this.picker) this.picker.value = String(this.allSeries.indexOf(series));
    this.entries = stackEntries(series.instances.map((i) => i.frames));
    const imageIds = this.entries.map((e) => {
      const inst = series.instances[e.instance];
      return imageIdFor(new URL(inst.url, location.origin).href, e.frame, inst.frames);
    });
    await this.viewport.setStack(imageIds, index ?? this.startIndex(series));
    this.viewport.render();
    this.updateCounter();
    this.hooks.onNewImage?.();
  }

  /** Show one frame (0-based) of one instance, in whichever series holds it; false if
   * no series does. */
  async showAt(instanceId: number, frame: number): Promise<boolean> {
    const series = this.allSeries.find((s) => s.instances.some((i) => i.id === instanceId));
    if (!series) return false;
    const at = series.instances.findIndex((i) => i.id === instanceId);
    const entries = stackEntries(series.instances.map((i) => i.frames));
    const index = entries.findIndex((e) => e.instance === at && e.frame === frame);
    await this.showSeries(series, Math.max(0, index >= 0 ? index : entries.findIndex((e) => e.instance === at)));
    return true;
  }

  /** Where a series opens: its key image's first frame when asked to, else the start. */
  private startIndex(series: S): number {
    if (!this.options.openOnKeyImage || series.key_instance == null) return 0;
    const at = series.instances.findIndex((i) => i.id === series.key_instance);
    if (at < 0) return 0;
    return Math.max(0, this.entries.findIndex((e) => e.instance === at));
  }

  // ---- where we are ---------------------------------------------------------------------

  get index(): number {
    return this.viewport?.getCurrentImageIdIndex() ?? 0;
  }

  get entry(): StackEntry {
    return this.entries[this.index] ?? { instance: 0, frame: 0 };
  }

  get instance(): I {
    return this.series.instances[this.entry.instance];
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

  geometry(): ImageGeometry | null {
    const data = this.viewport.getImageData();
    return data ? { origin: data.origin, spacing: data.spacing, direction: data.direction } : null;
  }

  private canvasPoint(e: MouseEvent): Types.Point2 {
    const r = this.element.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  /** Mouse position → image coordinates of the displayed image. */
  toPixel(e: MouseEvent): Point2 | null {
    const g = this.geometry();
    if (!g) return null;
    return worldToPixel(g, this.viewport.canvasToWorld(this.canvasPoint(e)));
  }

  /** An image pixel position → overlay (canvas CSS pixel) coordinates. */
  toCanvas(p: Point2): Point2 | null {
    const g = this.geometry();
    if (!g) return null;
    const c = this.viewport.worldToCanvas(pixelToWorld(g, p) as Types.Point3);
    return [c[0], c[1]];
  }

  /** A pixel rect → its on-screen rect in overlay (canvas CSS pixel) coordinates. */
  toScreen(rect: Rect): Rect | null {
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

  /** Size the overlay to the viewport; call before drawing on it. */
  sizeOverlay(): void {
    this.overlay.setAttribute("width", String(this.element.clientWidth));
    this.overlay.setAttribute("height", String(this.element.clientHeight));
  }

  // ---- cine -----------------------------------------------------------------------------

  toggleCine(): void {
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

  stopCine(): void {
    if (this.cineTimer !== null) window.clearInterval(this.cineTimer);
    this.cineTimer = null;
    this.cineButton.textContent = "Play";
  }
}
