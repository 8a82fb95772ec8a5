// Pure pixel geometry for the editor: no DOM, no cornerstone, tested with Vitest.
//
// Pixel coordinates are those of the stored image: x is the column, y the row, both
// 0-based; a rect covers the pixels x..x+width-1 and y..y+height-1. "Image coordinates"
// are cornerstone's continuous ones (utilities.worldToImageCoords), in which pixel i
// spans [i, i+1): a pixel's left/top edge is at i, its centre at i + 0.5.

export type Point2 = [number, number];

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type Frames = "all" | number[];

export interface Blackout extends Rect {
  frames: Frames;
}

export interface Size {
  rows: number;
  columns: number;
}

export type Scope = "frame" | "instance" | "series";

/** The integer pixel rect covering a drag between two image-coordinate points, clipped
 * to the image; null when nothing of it lies inside the image. */
export function dragToPixelRect(a: Point2, b: Point2, size: Size): Rect | null {
  const x0 = Math.max(0, Math.floor(Math.min(a[0], b[0])));
  const y0 = Math.max(0, Math.floor(Math.min(a[1], b[1])));
  const x1 = Math.min(size.columns, Math.ceil(Math.max(a[0], b[0])));
  const y1 = Math.min(size.rows, Math.ceil(Math.max(a[1], b[1])));
  if (x1 <= x0 || y1 <= y0) return null;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** A rect clipped to an image of another size (null when it falls outside). */
export function clipRect(rect: Rect, size: Size): Rect | null {
  return dragToPixelRect(
    [rect.x, rect.y],
    [rect.x + rect.width, rect.y + rect.height],
    size,
  );
}

/** The corners of a pixel rect in image coordinates (top-left, bottom-right). */
export function rectCorners(rect: Rect): [Point2, Point2] {
  return [
    [rect.x, rect.y],
    [rect.x + rect.width, rect.y + rect.height],
  ];
}

/** Drag tiny accidental clicks away: a box must be at least this many pixels wide and high. */
export const MIN_BOX = 2;

export function isUsable(rect: Rect | null): rect is Rect {
  return rect !== null && rect.width >= MIN_BOX && rect.height >= MIN_BOX;
}

export interface InstanceShape extends Size {
  id: number;
  frames: number;
}

/** The blackouts to add, per instance id, when the author draws `rect` on `frame` of
 * `current` with the chosen scope. */
export function propagate(
  rect: Rect,
  scope: Scope,
  current: InstanceShape,
  frame: number,
  series: InstanceShape[],
): Map<number, Blackout> {
  const out = new Map<number, Blackout>();
  if (scope === "series") {
    for (const inst of series) {
      const clipped = clipRect(rect, inst);
      if (clipped) out.set(inst.id, { ...clipped, frames: "all" });
    }
    return out;
  }
  const clipped = clipRect(rect, current);
  if (!clipped) return out;
  const frames: Frames = scope === "instance" || current.frames <= 1 ? "all" : [frame];
  out.set(current.id, { ...clipped, frames });
  return out;
}

/** Whether a blackout applies to the given 0-based frame. */
export function appliesTo(frames: Frames, frame: number): boolean {
  return frames === "all" || frames.includes(frame);
}

/**
 * The blackout an accepted OCR proposal becomes: always on every frame. OCR reads only a
 * sample of a cine's frames and can miss text on some of them; text burned into a cine
 * stays where it is, and a box over a band that is empty on some frames hides nothing.
 */
export function proposalToBlackout(p: Rect & { frame: number | null }): Blackout {
  return { x: p.x, y: p.y, width: p.width, height: p.height, frames: "all" };
}

export function sameRect(a: Rect, b: Rect): boolean {
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}

/** The crop of a series, clipped to one of its images; null means "no crop". */
export function cropFor(crop: Rect | null, size: Size): Rect | null {
  return crop ? clipRect(crop, size) : null;
}

/** Window/level presets as a VOI range. */
export function voiRange(center: number, width: number): { lower: number; upper: number } {
  return { lower: center - width / 2, upper: center + width / 2 };
}

export interface StackEntry {
  instance: number; // index into the series' instances
  frame: number; // 0-based frame within that instance
}

/** One stack entry per frame of every instance, in series order. */
export function stackEntries(frameCounts: number[]): StackEntry[] {
  const out: StackEntry[] = [];
  frameCounts.forEach((n, instance) => {
    for (let frame = 0; frame < Math.max(1, n); frame++) out.push({ instance, frame });
  });
  return out;
}

/** dicom-image-loader's wadouri scheme: `frame=N` is 1-based; single frames need none. */
export function imageIdFor(absoluteUrl: string, frame: number, frames: number): string {
  if (frames <= 1) return `wadouri:${absoluteUrl}`;
  const sep = absoluteUrl.includes("?") ? "&" : "?";
  return `wadouri:${absoluteUrl}${sep}frame=${frame + 1}`;
}

/** The geometry of the displayed image, as StackViewport.getImageData() reports it:
 * index (i, j) has its pixel centre at origin + i·spacing[0]·direction[0..2]
 * + j·spacing[1]·direction[3..5]. */
export interface ImageGeometry {
  origin: ArrayLike<number>;
  spacing: ArrayLike<number>;
  direction: ArrayLike<number>;
}

type Vec3 = [number, number, number];

/** World point → image coordinates (pixel i spans [i, i+1)). */
export function worldToPixel(g: ImageGeometry, world: ArrayLike<number>): Point2 {
  const d = [world[0] - g.origin[0], world[1] - g.origin[1], world[2] - g.origin[2]];
  const dot = (o: number) => d[0] * g.direction[o] + d[1] * g.direction[o + 1] + d[2] * g.direction[o + 2];
  return [dot(0) / g.spacing[0] + 0.5, dot(3) / g.spacing[1] + 0.5];
}

/** Image coordinates → world point (inverse of worldToPixel in the image plane). */
export function pixelToWorld(g: ImageGeometry, p: Point2): Vec3 {
  const i = (p[0] - 0.5) * g.spacing[0];
  const j = (p[1] - 0.5) * g.spacing[1];
  return [0, 1, 2].map((k) => g.origin[k] + i * g.direction[k] + j * g.direction[k + 3]) as Vec3;
}
