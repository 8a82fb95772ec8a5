// Teaching annotations (arrows, ellipses, labels): data drawn over the image, never pixels.
// Drawn by the editor and by the library viewer, in the SVG overlay of a StackView.

import type { Point2 } from "./geometry";
import { svg } from "./viewport";

export type Annotation =
  | { type: "arrow"; x1: number; y1: number; x2: number; y2: number; frame: number }
  | { type: "ellipse"; x: number; y: number; width: number; height: number; frame: number }
  | { type: "text"; x: number; y: number; text: string; frame: number };

export const ARROW_MARKER_ID = "ann-arrowhead";

/** The <defs> with the arrowhead marker, once per overlay. */
export function annotationDefs(): SVGElement {
  const defs = svg("defs", {});
  const marker = svg("marker", {
    id: ARROW_MARKER_ID,
    viewBox: "0 0 10 10",
    refX: 9,
    refY: 5,
    markerWidth: 6,
    markerHeight: 6,
    orient: "auto-start-reverse",
  });
  marker.append(svg("path", { d: "M0,0L10,5L0,10Z", class: "ann-head" }));
  defs.append(marker);
  return defs;
}

export function describeAnnotation(a: Annotation): string {
  if (a.type === "arrow") return `arrow at (${Math.round(a.x2)}, ${Math.round(a.y2)})`;
  if (a.type === "ellipse") return `ellipse ${Math.round(a.width)}×${Math.round(a.height)}`;
  return `label “${a.text}”`;
}

/** SVG shapes for the annotations of one frame; toCanvas maps image pixels to the overlay. */
export function drawAnnotations(
  annotations: Annotation[],
  frame: number,
  toCanvas: (p: Point2) => Point2 | null,
): SVGElement[] {
  const shapes: SVGElement[] = [];
  for (const a of annotations) {
    if (a.frame !== frame) continue;
    if (a.type === "arrow") {
      const p = toCanvas([a.x1, a.y1]);
      const q = toCanvas([a.x2, a.y2]);
      if (p && q)
        shapes.push(
          svg("line", {
            x1: p[0], y1: p[1], x2: q[0], y2: q[1],
            class: "ann-shape", "marker-end": `url(#${ARROW_MARKER_ID})`, "data-annotation": "arrow",
          }),
        );
    } else if (a.type === "ellipse") {
      const p = toCanvas([a.x, a.y]);
      const q = toCanvas([a.x + a.width, a.y + a.height]);
      if (p && q)
        shapes.push(
          svg("ellipse", {
            cx: (p[0] + q[0]) / 2, cy: (p[1] + q[1]) / 2,
            rx: Math.abs(q[0] - p[0]) / 2, ry: Math.abs(q[1] - p[1]) / 2,
            class: "ann-shape", "data-annotation": "ellipse",
          }),
        );
    } else {
      const p = toCanvas([a.x, a.y]);
      if (p) {
        const t = svg("text", { x: p[0], y: p[1], class: "ann-text", "data-annotation": "text" });
        t.textContent = a.text;
        shapes.push(t);
      }
    }
  }
  return shapes;
}
