// The viewport (Cornerstone3D's split of viewport and tools): it owns the canvas, its size and device pixel
// ratio, the view transform (image -> screen), the WebGL2 context (and its loss/restore), the render
// scheduling, and an ordered list of layers that it draws each frame. It knows nothing of images or tools.
//
// Layers. A layer is drawn in `order` (lower first: the image is 0, then e.g. a heatmap at 10, boxes at 20)
// and draws on one of two surfaces:
//  - 'webgl': into the viewport's shared WebGL2 canvas, at its turn in the frame. The viewport clears the
//    canvas to the background first; a layer above the image blends (gl.enable(gl.BLEND)) and restores the
//    GL state it changes. It gets the context in attach(), loses it in detach() (context lost) and gets
//    the restored one in the next attach().
//  - 'element': its own element (a 2D <canvas>, an <svg>), handed to host.mount() in attach(). The viewport
//    stacks it above the WebGL canvas, ordered among the other element layers, below the viewer's
//    overlays (loading, info), and sizes it to the viewport; it never takes pointer events, so the tools
//    keep receiving input from the canvas and hit-test in image coordinates. Its draw() redraws the element.
// All layers get the same FrameContext (transform in CSS pixels, the DPR for crisp backing stores). A
// layer's inputs() is watched (Vue): when what it returns changes, a frame is scheduled. Adding a layer
// is `viewport.addLayer(layer)`; the viewport does not change.

import { onBeforeUnmount, onMounted, ref, shallowRef, watch, type Ref } from 'vue';
import { createGlContext } from '../lib/gl-image-renderer';
import { fitTransform, panBy, reorientAt, zoomAt, type OrientOp, type ViewOrient, type ViewTransform } from '../lib/view-transform';

export type Rgb = [number, number, number];

export interface FrameContext {
  /** image -> screen, CSS pixels */
  transform: ViewTransform;
  /** viewport size, CSS pixels */
  width: number;
  height: number;
  /** device pixels per CSS pixel */
  dpr: number;
  /** the viewer background, 0-1 RGB */
  background: Rgb;
  /** the shared WebGL2 context (null when unavailable or lost) */
  gl: WebGL2RenderingContext | null;
}

export interface LayerHost {
  /** the shared WebGL2 context, for 'webgl' layers (null when unavailable or lost) */
  readonly gl: WebGL2RenderingContext | null;
  /** Stack an element layer's element above the canvas (by the layer's order); returns its removal. */
  mount(el: HTMLElement | SVGElement, order: number): () => void;
  requestRender(): void;
}

export interface ViewportLayer {
  readonly id: string;
  /** drawing order, lower first */
  readonly order: number;
  readonly surface: 'webgl' | 'element';
  /** Vue watch source: the viewport schedules a frame whenever its value changes */
  inputs?(): unknown;
  /** once added (and again after a WebGL context restore) */
  attach(host: LayerHost): void;
  /** Draw this layer for the frame; throwing fails the frame (the viewport shows the message). */
  draw(frame: FrameContext): void;
  /** the WebGL context was lost: drop references to GL objects (they are gone) */
  detach(): void;
  /** removed from the viewport or the viewport unmounted: free everything */
  dispose(): void;
}

export interface ViewportOptions {
  /** margin around the fitted content, CSS pixels */
  fitMargin?: number;
  /** content size in image pixels (for fit), null when there is nothing to show */
  contentSize: () => { columns: number; rows: number } | null;
}

export function useViewport(options: ViewportOptions) {
  const container = ref<HTMLElement | null>(null);
  const canvas = ref<HTMLCanvasElement | null>(null);
  /** where element layers are mounted (stacked above the canvas) */
  const layerRoot = ref<HTMLElement | null>(null);
  const size = ref({ width: 0, height: 0, dpr: 1 });
  const transform = ref<ViewTransform>({ scale: 1, tx: 0, ty: 0 });
  /** while true the content follows viewport resizes (fit), until the user zooms or pans */
  const fitted = ref(true);
  /** frames drawn without error since mount: tests wait on it instead of sleeping */
  const renderCount = ref(0);
  const error = ref<string | null>(null);
  const gl = shallowRef<WebGL2RenderingContext | null>(null);
  const layers = shallowRef<ViewportLayer[]>([]);
  const mounted: { order: number; el: HTMLElement | SVGElement }[] = [];
  let background: Rgb = [0.063, 0.067, 0.075];
  let frame = 0;
  let isMounted = false;
  let observer: ResizeObserver | null = null;

  const host: LayerHost = {
    get gl() {
      return gl.value;
    },
    mount(el, order) {
      const root = layerRoot.value;
      if (!root) return () => undefined;
      el.style.position = 'absolute';
      el.style.inset = '0';
      el.style.pointerEvents = 'none';
      const next = mounted.find((m) => m.order > order);
      root.insertBefore(el, next?.el ?? null);
      const entry = { order, el };
      mounted.push(entry);
      mounted.sort((a, b) => a.order - b.order);
      return () => {
        mounted.splice(mounted.indexOf(entry), 1);
        el.remove();
      };
    },
    requestRender: () => scheduleRender(),
  };

  function readBackground(): void {
    const rgb = getComputedStyle(document.documentElement).getPropertyValue('--viewer-bg-rgb').split(',').map((v) => Number(v.trim()) / 255);
    if (rgb.length === 3 && rgb.every((v) => Number.isFinite(v))) background = [rgb[0], rgb[1], rgb[2]];
  }

  function scheduleRender(): void {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      render();
    });
  }

  /** Draw every layer now, in order. */
  function render(): void {
    const context = gl.value;
    if (!canvas.value || !context) return;
    const { width, height, dpr } = size.value;
    const f: FrameContext = { transform: transform.value, width, height, dpr, background, gl: context };
    try {
      context.viewport(0, 0, context.canvas.width, context.canvas.height);
      context.clearColor(background[0], background[1], background[2], 1);
      context.clear(context.COLOR_BUFFER_BIT);
      for (const layer of layers.value) layer.draw(f);
      error.value = null;
      renderCount.value++;
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  function addLayer(layer: ViewportLayer): () => void {
    layers.value = [...layers.value, layer].sort((a, b) => a.order - b.order);
    // before mount, onMounted attaches it
    if (isMounted && (layer.surface === 'element' || gl.value)) layer.attach(host);
    scheduleRender();
    return () => removeLayer(layer);
  }

  function removeLayer(layer: ViewportLayer): void {
    if (!layers.value.includes(layer)) return;
    layers.value = layers.value.filter((l) => l !== layer);
    layer.dispose();
    scheduleRender();
  }

  /** Whole image visible, in the current orientation (or `orient`), following resizes again. */
  function fit(orient: ViewOrient | undefined = transform.value.orient): void {
    const c = options.contentSize();
    if (!c) return;
    transform.value = fitTransform(c.columns, c.rows, size.value.width, size.value.height, options.fitMargin ?? 0, orient);
    fitted.value = true;
  }

  /** Rotate or flip about the viewport centre; a fitted view fits again (a quarter turn changes the extents). */
  function reorient(op: OrientOp): void {
    if (!options.contentSize()) return;
    const next = reorientAt(transform.value, op, size.value.width / 2, size.value.height / 2);
    if (fitted.value) fit(next.orient);
    else transform.value = next;
  }

  /** A user change of the view (pan, zoom): stops following resizes. */
  function setTransform(t: ViewTransform): void {
    transform.value = t;
    fitted.value = false;
  }

  /** Zoom by `factor` around (px, py), by default the viewport centre. */
  function zoomBy(factor: number, px = size.value.width / 2, py = size.value.height / 2): void {
    if (!options.contentSize()) return;
    setTransform(zoomAt(transform.value, factor, px, py));
  }

  function resize(): void {
    const el = container.value;
    const c = canvas.value;
    if (!el || !c) return;
    const dpr = window.devicePixelRatio || 1;
    const width = el.clientWidth;
    const height = el.clientHeight;
    const prev = size.value;
    size.value = { width, height, dpr };
    c.width = Math.max(1, Math.round(width * dpr));
    c.height = Math.max(1, Math.round(height * dpr));
    if (fitted.value) fit();
    else if (prev.width > 0 && prev.height > 0) {
      // keep the image point at the viewport centre where it was
      transform.value = panBy(transform.value, (width - prev.width) / 2, (height - prev.height) / 2);
    }
    render(); // resizing the canvas cleared it: draw before the browser shows it
  }

  function attachGl(): void {
    const c = canvas.value;
    if (!c) return;
    try {
      gl.value = createGlContext(c);
      error.value = null;
      for (const layer of layers.value) if (layer.surface === 'webgl') layer.attach(host);
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  function onContextLost(e: Event): void {
    e.preventDefault();
    gl.value = null;
    for (const layer of layers.value) if (layer.surface === 'webgl') layer.detach();
    error.value = 'The graphics context was lost; restoring…';
  }

  function onContextRestored(): void {
    attachGl();
    scheduleRender();
  }

  watch(() => [transform.value, ...layers.value.map((l) => l.inputs?.())], scheduleRender);

  onMounted(() => {
    isMounted = true;
    readBackground();
    attachGl();
    for (const layer of layers.value) if (layer.surface === 'element') layer.attach(host);
    canvas.value?.addEventListener('webglcontextlost', onContextLost);
    canvas.value?.addEventListener('webglcontextrestored', onContextRestored);
    observer = new ResizeObserver(resize);
    if (container.value) observer.observe(container.value);
    resize();
  });

  onBeforeUnmount(() => {
    observer?.disconnect();
    if (frame) cancelAnimationFrame(frame);
    canvas.value?.removeEventListener('webglcontextlost', onContextLost);
    canvas.value?.removeEventListener('webglcontextrestored', onContextRestored);
    for (const layer of layers.value) layer.dispose();
    layers.value = [];
    // give the context back now (browsers keep a handful; Compare and the small multiples come and go)
    gl.value?.getExtension('WEBGL_lose_context')?.loseContext();
    gl.value = null;
  });

  /** The theme changed: read the background colour again and redraw. */
  function refreshBackground(): void {
    readBackground();
    scheduleRender();
  }

  return {
    container,
    canvas,
    layerRoot,
    size: size as Readonly<Ref<{ width: number; height: number; dpr: number }>>,
    transform: transform as Readonly<Ref<ViewTransform>>,
    fitted: fitted as Readonly<Ref<boolean>>,
    renderCount: renderCount as Readonly<Ref<number>>,
    error: error as Readonly<Ref<string | null>>,
    addLayer,
    removeLayer,
    scheduleRender,
    render,
    fit,
    reorient,
    setTransform,
    zoomBy,
    refreshBackground,
  };
}

export type Viewport = ReturnType<typeof useViewport>;
