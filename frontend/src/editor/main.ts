// The image editor: scroll a series, decide on each proposed box, black out burned-in
// text, mark areas safe, crop, confirm each image (or a whole series); every change is saved.
//
// cornerstone3D renders a STACK viewport (one imageId per frame); boxes are drawn by our
// own drag handling in "Box"/"Safe"/"Crop" mode and shown in an SVG overlay that follows
// the camera. The stack viewport itself is viewport.ts (shared with the library viewer);
// pixel maths lives in geometry.ts, proposals and gate places in review.ts, the edits and
// undo stack in state.ts. Proposals carry no recognised text: kind and matched attribute.

import { type Annotation, annotationDefs, describeAnnotation, drawAnnotations } from "./annotations";
import { type ReviewState, confirmReview, saveAnnotations, saveCrop, saveEdits, saveKeyImage } from "./api";
// Each entry imports its own CSS: the manifest lists an entry's CSS, not its shared chunks'.
import "./editor.css";
import {
  type Blackout,
  type InstanceShape,
  type Point2,
  type Rect,
  type Scope,
  type StackEntry,
  appliesTo,
  cropFor,
  dragToPixelRect,
  isUsable,
  propagate,
} from "./geometry";
import {
  type Decision,
  type Decisions,
  type GateRegion,
  type Proposal,
  gateArea,
  gateStatus,
  pendingCount,
  proposalLabel,
  proposalStatus,
  startPlace,
} from "./review";
import { EditState, type Touched } from "./state";
import { StackView, el, svg } from "./viewport";

interface InstanceConfig {
  id: number;
  url: string;
  frames: number;
  rows: number;
  columns: number;
  needs_review: boolean;
  reviewed: boolean;
  edits_url: string;
  confirm_url: string;
  proposed: Proposal[];
  decisions: Decisions;
  gate_regions: GateRegion[];
  safe_regions: Blackout[];
  blackouts: Blackout[];
  annotations: Annotation[];
  annotations_url: string;
}

interface SeriesConfig {
  id: number;
  description: string;
  modality: string;
  crop: Rect | null;
  crop_url: string;
  key_instance: number | null;
  key_image_url: string;
  confirm_url: string;
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

type Mode = "navigate" | "box" | "safe" | "crop" | "arrow" | "ellipse" | "text";

const describeFrames = (b: Blackout) =>
  b.frames === "all" ? "all frames" : `frame ${b.frames.map((f) => f + 1).join(", ")}`;

class Editor {
  private state: EditState;
  private mode: Mode = "navigate";
  private view: StackView<InstanceConfig, SeriesConfig>;
  private drag: { start: Point2; end: Point2 } | null = null;
  private pendingSaves = 0;
  private saveChains = new Map<string, Promise<void>>();

  // DOM
  private root: HTMLElement;
  private saveStatus = el("span", { "data-testid": "save-status", class: "ed-save" });
  private alert = el("div", { role: "alert", class: "ed-alert", "data-testid": "alert" });
  private scope = el("select", { "data-testid": "scope", "aria-label": "Box or safe area applies to" });
  private side = el("aside", { class: "ed-side" });
  private modeButtons = new Map<Mode, HTMLButtonElement>();
  private undoButton = el("button", { type: "button", "data-testid": "undo" }, "Undo");
  private removeCrop = el("button", { type: "button", "data-testid": "remove-crop" }, "Remove crop");
  private keyImage = el("button", { type: "button", "data-testid": "key-image" }, "Key image");

  constructor(
    root: HTMLElement,
    private config: EditorConfig,
  ) {
    this.root = root;
    this.view = new StackView(config.series, "editor", {
      onRender: () => {
        this.drawOverlay();
        window.__editorReady = true;
      },
      onNewImage: () => this.renderSide(),
    });
    const instances: [number, { blackouts: Blackout[]; decisions: Decisions; safe: Blackout[]; reviewed: boolean }, Proposal[]][] = [];
    for (const s of config.series)
      for (const i of s.instances)
        instances.push([
          i.id,
          { blackouts: i.blackouts, decisions: i.decisions ?? {}, safe: i.safe_regions ?? [], reviewed: i.reviewed },
          i.proposed,
        ]);
    this.state = new EditState(
      instances,
      config.series.map((s) => [s.id, s.crop]),
    );
    this.buildDom();
  }

  // ---- layout ---------------------------------------------------------------------------

  private buildDom(): void {
    const bar = el("div", { class: "ed-toolbar", role: "toolbar" });
    const picker = this.view.seriesPicker();
    if (picker) bar.append(picker);
    const modes: [Mode, string, string][] = [
      ["navigate", "Navigate", "nav-mode"],
      ["box", "Box", "box-mode"],
      ["safe", "Mark area safe", "safe-mode"],
      ["crop", "Crop", "crop-mode"],
      ["arrow", "Arrow", "arrow-mode"],
      ["ellipse", "Ellipse", "ellipse-mode"],
      ["text", "Label", "text-mode"],
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
    this.keyImage.title = "Open this series on the current image";
    this.keyImage.addEventListener("click", () => this.setKeyImage());
    bar.append(
      modeGroup,
      el("label", {}, "Applies to ", this.scope),
      this.undoButton,
      this.removeCrop,
      this.keyImage,
      ...this.view.viewControls(),
    );

    const stage = this.view.stage();
    const status = el("div", { class: "ed-status" }, this.view.counter, this.saveStatus);
    const main = el("div", { class: "ed-main" }, el("div", { class: "ed-left" }, stage, status), this.side);
    this.root.replaceChildren(bar, this.alert, main);
    this.view.element.addEventListener("mousedown", (e) => this.onMouseDown(e));
    window.addEventListener("mousemove", (e) => this.onMouseMove(e));
    window.addEventListener("mouseup", (e) => this.onMouseUp(e));
  }

  // ---- cornerstone ----------------------------------------------------------------------

  async start(): Promise<void> {
    await this.view.start();
    this.setMode(this.mode);
    const place = startPlace(location.search);
    if (place) await this.view.showAt(place.instance, place.frame);
  }

  private setMode(mode: Mode): void {
    this.mode = mode;
    for (const [m, b] of this.modeButtons) b.setAttribute("aria-pressed", String(m === mode));
    this.view.element.dataset.mode = mode;
    this.view.setPan(mode === "navigate");
  }

  // ---- where we are ---------------------------------------------------------------------

  private get series(): SeriesConfig {
    return this.view.series;
  }

  private get entry(): StackEntry {
    return this.view.entry;
  }

  private get instance(): InstanceConfig {
    return this.view.instance;
  }

  private shape(i: InstanceConfig): InstanceShape {
    return { id: i.id, frames: i.frames, rows: i.rows, columns: i.columns };
  }

  // ---- drawing boxes --------------------------------------------------------------------

  private onMouseDown(e: MouseEvent): void {
    if (this.mode === "navigate" || e.button !== 0) return;
    const p = this.view.toPixel(e);
    if (!p) return;
    e.preventDefault();
    if (this.mode === "text") {
      const text = window.prompt("Label text")?.trim();
      const inst = this.instance;
      if (text && p[0] >= 0 && p[1] >= 0 && p[0] <= inst.columns && p[1] <= inst.rows)
        this.addAnnotation({ type: "text", x: p[0], y: p[1], text: text.slice(0, 80), frame: this.entry.frame });
      return;
    }
    this.drag = { start: p, end: p };
  }

  private onMouseMove(e: MouseEvent): void {
    if (!this.drag) return;
    const p = this.view.toPixel(e);
    if (p) this.drag.end = p;
    this.drawOverlay();
  }

  private onMouseUp(e: MouseEvent): void {
    if (!this.drag) return;
    const p = this.view.toPixel(e);
    if (p) this.drag.end = p;
    if (this.mode === "arrow") {
      const inst = this.instance;
      const clamp = (q: Point2): Point2 => [
        Math.min(Math.max(q[0], 0), inst.columns),
        Math.min(Math.max(q[1], 0), inst.rows),
      ];
      const [a, b] = [clamp(this.drag.start), clamp(this.drag.end)];
      this.drag = null;
      if (Math.hypot(b[0] - a[0], b[1] - a[1]) < 4) return this.drawOverlay();
      return this.addAnnotation({ type: "arrow", x1: a[0], y1: a[1], x2: b[0], y2: b[1], frame: this.entry.frame });
    }
    const rect = dragToPixelRect(this.drag.start, this.drag.end, this.instance);
    this.drag = null;
    if (!isUsable(rect)) {
      this.drawOverlay();
      return;
    }
    if (this.mode === "ellipse") {
      this.addAnnotation({ type: "ellipse", ...rect!, frame: this.entry.frame });
    } else if (this.mode === "crop") {
      this.apply(this.state.setCrop(this.series.id, rect));
    } else {
      const areas = propagate(
        rect,
        this.scope.value as Scope,
        this.shape(this.instance),
        this.entry.frame,
        this.series.instances.map((i) => this.shape(i)),
      );
      this.apply(this.mode === "safe" ? this.state.addSafe(areas) : this.state.addBlackouts(areas));
    }
  }

  private drawOverlay(): void {
    if (!this.view.viewport) return;
    const inst = this.instance;
    const { frame } = this.entry;
    const shapes: SVGElement[] = [];
    const box = (rect: Rect, cls: string) => {
      const s = this.view.toScreen(rect);
      if (s) shapes.push(svg("rect", { ...s, class: cls }));
      return s;
    };
    this.view.sizeOverlay();

    const crop = cropFor(this.state.crop(this.series.id), inst);
    if (crop) {
      const whole = this.view.toScreen({ x: 0, y: 0, width: inst.columns, height: inst.rows });
      const c = this.view.toScreen(crop);
      if (whole && c) {
        const path = (r: Rect) => `M${r.x},${r.y}h${r.width}v${r.height}h${-r.width}Z`;
        shapes.push(svg("path", { d: path(whole) + path(c), class: "ed-crop-dim", "fill-rule": "evenodd" }));
        shapes.push(svg("rect", { ...c, class: "ed-crop" }));
      }
    }
    const edits = this.state.edits(inst.id);
    const label = (s: Rect, text: string, cls: string) => {
      const node = svg("text", { x: s.x, y: Math.max(12, s.y - 3), class: cls });
      node.textContent = text;
      shapes.push(node);
    };
    for (const b of edits.blackouts) if (appliesTo(b.frames, frame)) box(b, "ed-blackout");
    for (const a of edits.safe) if (appliesTo(a.frames, frame)) box(a, "ed-safe");
    inst.proposed.forEach((p, i) => {
      if (p.frame !== null && p.frame !== frame) return;
      if (proposalStatus(p, edits.decisions) !== "pending") return;
      const s = box(p, "ed-proposed");
      if (s) label(s, `${i + 1}: ${proposalLabel(p)}`, "ed-proposed-label");
    });
    inst.gate_regions.forEach((g, i) => {
      if (g.frame !== null && g.frame !== frame) return;
      const s = box(g, "ed-gate");
      if (s) label(s, `final check ${i + 1}`, "ed-gate-label");
    });
    shapes.push(...drawAnnotations(inst.annotations, frame, (p) => this.view.toCanvas(p)));
    if (this.drag && this.mode === "arrow") {
      const { start, end } = this.drag;
      const f = this.entry.frame;
      const preview = [{ type: "arrow" as const, x1: start[0], y1: start[1], x2: end[0], y2: end[1], frame: f }];
      shapes.push(...drawAnnotations(preview, f, (p) => this.view.toCanvas(p)));
    } else if (this.drag) {
      const r = dragToPixelRect(this.drag.start, this.drag.end, inst);
      const cls = this.mode === "crop" ? "ed-crop" : this.mode === "safe" ? "ed-safe" : "ed-drawing";
      if (r) box(r, cls);
    }
    this.view.overlay.replaceChildren(annotationDefs(), ...shapes);
  }

  // ---- side panel -----------------------------------------------------------------------

  private renderSide(): void {
    const inst = this.instance;
    const edits = this.state.edits(inst.id);
    const pending = pendingCount(inst.proposed, edits.decisions);
    const heading = el("h2", {}, `Image ${this.entry.instance + 1}`);
    if (edits.reviewed) heading.append(" ", el("span", { class: "ed-badge ed-ok", "data-testid": "reviewed" }, "reviewed"));
    else if (inst.needs_review || edits.safe.length)
      heading.append(" ", el("span", { class: "ed-badge", "data-testid": "needs-review" }, "needs review"));
    const isKey = this.series.key_instance === inst.id;
    if (isKey) heading.append(" ", el("span", { class: "ed-badge ed-ok", "data-testid": "key-badge" }, "key image"));

    const proposals = el("ol", { "data-testid": "proposals", class: "ed-list" });
    inst.proposed.forEach((p) => {
      const status = proposalStatus(p, edits.decisions);
      const where = p.frame === null ? "all frames" : `frame ${p.frame + 1}`;
      const item = el("li", { "data-status": status, "data-testid": `proposal-${p.id}` }, `${proposalLabel(p)}, ${where} `);
      const decide = (decision: Decision, label: string) => {
        const b = el("button", { type: "button", "data-testid": `${decision === "accepted" ? "accept" : "reject"}-${p.id}` }, label);
        b.setAttribute("aria-pressed", String(status === decision));
        b.addEventListener("click", () => this.apply(this.state.decide(inst.id, p, decision)));
        return b;
      };
      item.append(decide("accepted", "Accept"), " ", decide("rejected", "Reject"));
      if (status !== "pending") item.append(" ", el("em", {}, status));
      proposals.append(item);
    });

    const confirm = el("button", { type: "button", "data-testid": "confirm" }, "Confirm this image");
    confirm.disabled = pending > 0 || edits.reviewed;
    confirm.title = pending ? "Accept or reject every proposed box first" : "";
    confirm.addEventListener("click", () => this.confirm(inst, false));
    const acceptAll = el("button", { type: "button", "data-testid": "accept-all-confirm" }, "Accept all proposals and confirm this image");
    acceptAll.disabled = edits.reviewed;
    acceptAll.addEventListener("click", () => this.confirm(inst, true));
    const seriesAll = el("button", { type: "button", "data-testid": "confirm-series" }, "Accept all proposals and confirm the whole series");
    seriesAll.title = "Every proposal not yet decided on every image of this series is accepted; each image is confirmed";
    seriesAll.addEventListener("click", () => this.confirmSeries());
    const reviewBox = el(
      "div",
      { class: "ed-review" },
      el("p", { "data-testid": "pending-count" }, pending ? `${pending} proposed box(es) still to accept or reject.` : "Every proposed box is decided."),
      confirm,
      acceptAll,
      seriesAll,
    );

    const gate = el("ol", { "data-testid": "gate-list", class: "ed-list" });
    inst.gate_regions.forEach((g, i) => {
      const status = gateStatus(g, edits.blackouts, edits.safe);
      const where = g.frame === null ? "all frames" : `frame ${g.frame + 1}`;
      const item = el("li", { "data-status": status }, `${g.width}×${g.height} at (${g.x}, ${g.y}), ${where} `);
      if (status === "open") {
        const scope = this.scope.value === "frame" ? "frame" : "instance";
        const boxIt = el("button", { type: "button", "data-testid": `gate-box-${i}` }, "Black out");
        boxIt.addEventListener("click", () => this.apply(this.state.addBlackouts(new Map([[inst.id, gateArea(g, scope)]]))));
        const safe = el("button", { type: "button", "data-testid": `gate-safe-${i}` }, "Mark safe");
        safe.addEventListener("click", () => this.apply(this.state.addSafe(new Map([[inst.id, gateArea(g, scope)]]))));
        item.append(boxIt, " ", safe);
      } else item.append(el("em", {}, status === "boxed" ? "blacked out" : "marked safe"));
      gate.append(item);
    });

    const boxes = el("ol", { "data-testid": "blackout-list", class: "ed-list" });
    edits.blackouts.forEach((b, i) => {
      const remove = el("button", { type: "button", "data-testid": `remove-${i}` }, "Remove");
      remove.addEventListener("click", () => this.apply(this.state.removeBlackout(inst.id, i)));
      boxes.append(el("li", {}, `${b.width}×${b.height} at (${b.x}, ${b.y}), ${describeFrames(b)} `, remove));
    });

    const safeList = el("ol", { "data-testid": "safe-list", class: "ed-list" });
    edits.safe.forEach((a, i) => {
      const remove = el("button", { type: "button", "data-testid": `remove-safe-${i}` }, "Remove");
      remove.addEventListener("click", () => this.apply(this.state.removeSafe(inst.id, i)));
      safeList.append(el("li", {}, `${a.width}×${a.height} at (${a.x}, ${a.y}), ${describeFrames(a)} `, remove));
    });

    const notes = el("ol", { "data-testid": "annotation-list", class: "ed-list" });
    inst.annotations.forEach((a, i) => {
      const remove = el("button", { type: "button", "data-testid": `remove-annotation-${i}` }, "Remove");
      remove.addEventListener("click", () => {
        inst.annotations.splice(i, 1);
        this.saveAnnotations(inst);
      });
      notes.append(el("li", {}, `${describeAnnotation(a)}, frame ${a.frame + 1} `, remove));
    });

    const crop = this.state.crop(this.series.id);
    this.side.replaceChildren(
      heading,
      el("h3", {}, "Proposed boxes"),
      inst.proposed.length ? proposals : el("p", {}, "None."),
      reviewBox,
      ...(inst.gate_regions.length
        ? [el("h3", {}, "The final check found text-like marks here"), gate]
        : []),
      el("h3", {}, "Black boxes"),
      edits.blackouts.length ? boxes : el("p", {}, "None yet."),
      el("h3", {}, "Areas marked safe"),
      edits.safe.length ? safeList : el("p", {}, "None."),
      el("h3", {}, "Crop (whole series)"),
      el(
        "p",
        { "data-testid": "crop-info" },
        crop ? `${crop.width}×${crop.height} at (${crop.x}, ${crop.y})` : "No crop.",
      ),
      el("h3", {}, "Teaching annotations"),
      inst.annotations.length ? notes : el("p", {}, "None."),
    );
    this.undoButton.disabled = !this.state.canUndo;
    this.removeCrop.disabled = crop === null;
    this.keyImage.disabled = isKey;
  }

  // ---- confirming -----------------------------------------------------------------------

  private applyReview(states: ReviewState[]): void {
    for (const s of states) this.state.applyServer(s.id, s);
    this.renderSide();
    this.drawOverlay();
  }

  /** Confirm one image, after its pending saves (and accepting what is undecided). */
  private confirm(inst: InstanceConfig, acceptAll: boolean): void {
    this.track([
      this.queue(inst.edits_url, () =>
        confirmReview(fetch, inst.confirm_url, this.config.csrf_token, { accept_all: acceptAll }).then((s) =>
          this.applyReview(s),
        ),
      ),
    ]);
  }

  /** Accept and confirm every image of the series, after every pending save of it. */
  private confirmSeries(): void {
    const s = this.series;
    const before = s.instances.map((i) => (this.saveChains.get(i.edits_url) ?? Promise.resolve()).catch(() => undefined));
    const run = Promise.all(before)
      .then(() => confirmReview(fetch, s.confirm_url, this.config.csrf_token))
      .then((states) => this.applyReview(states));
    for (const i of s.instances) this.saveChains.set(i.edits_url, run);
    this.track([run]);
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

  /** Mark the current image as its series' key image (the one the library opens on). */
  private setKeyImage(): void {
    const s = this.series;
    s.key_instance = this.instance.id;
    this.renderSide();
    this.track([
      this.queue(s.key_image_url, () =>
        saveKeyImage(fetch, s.key_image_url, this.config.csrf_token, s.key_instance),
      ),
    ]);
  }

  private addAnnotation(a: Annotation): void {
    const inst = this.instance;
    inst.annotations.push(a);
    this.saveAnnotations(inst);
  }

  private saveAnnotations(inst: InstanceConfig): void {
    this.renderSide();
    this.drawOverlay();
    this.track([
      this.queue(inst.annotations_url, () =>
        saveAnnotations(fetch, inst.annotations_url, this.config.csrf_token, inst.annotations),
      ),
    ]);
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
    this.track(saves);
  }

  /** Show the progress of saves in the status line and their failure in the alert. */
  private track(saves: Promise<void>[]): void {
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
