// @vitest-environment happy-dom
// The viewer's parts without a GPU: tool input through the mouse-binding table, and the viewport's layers.
import { createApp, h, nextTick, ref } from 'vue';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bindingsFromSlots, defaultMouseBindings, mousePresets, resolveMouseTool, type MouseBinding } from '../../../renderer/src/lib/keymap';
import type { ViewTransform } from '../../../renderer/src/lib/view-transform';
import type { WindowLevel } from '../../../renderer/src/lib/window-level';
import type { ToolContext } from '../../../renderer/src/viewer/tools';
import { useToolInput } from '../../../renderer/src/viewer/use-tool-input';
import { useViewport, type FrameContext, type LayerHost, type Viewport, type ViewportLayer } from '../../../renderer/src/viewer/viewport';

function setup(bindings: readonly MouseBinding[] = defaultMouseBindings, enabled = true) {
  const canvas = document.createElement('canvas');
  document.body.append(canvas);
  const state = { transform: { scale: 1, tx: 0, ty: 0 } as ViewTransform, window: { center: 100, width: 200 } as WindowLevel, commits: 0, fits: 0, scrolls: [] as number[] };
  const context: ToolContext = {
    get transform() {
      return state.transform;
    },
    setTransform: (t) => void (state.transform = t),
    fit: () => void state.fits++,
    get window() {
      return state.window;
    },
    setWindow: (w, commit) => {
      state.window = w;
      if (commit) state.commits++;
    },
    sensitivity: 1,
    scrollImage: (step) => void state.scrolls.push(step),
  };
  const hovered: unknown[] = [];
  const input = useToolInput({
    canvas: ref(canvas),
    enabled: () => enabled,
    toolFor: (button, gesture, mods) => resolveMouseTool(bindings, button, gesture, mods),
    context,
    onHover: (p) => hovered.push(p),
  });
  return { canvas, state, input, hovered };
}

const pointer = (type: string, button: number, x: number, y: number, extra: PointerEventInit = {}) =>
  new PointerEvent(type, { button, clientX: x, clientY: y, pointerId: 1, cancelable: true, ...extra });

describe('tool input', () => {
  it('left-drag drives window/level (OHIF) and saves it on release', () => {
    const { state, input } = setup();
    const down = pointer('pointerdown', 0, 10, 10);
    input.onPointerDown(down);
    expect(down.defaultPrevented).toBe(true);
    expect(input.cursor.value).toBe('ns-resize');
    input.onPointerMove(pointer('pointermove', 0, 40, 30));
    expect(state.window).toEqual({ center: 120, width: 230 });
    expect(state.commits).toBe(0);
    input.onPointerUp(pointer('pointerup', 0, 40, 30));
    expect(state.commits).toBe(1);
    expect(input.cursor.value).toBeNull();
  });

  it('middle-drag pans, right-drag zooms; other pointers do not steer the drag', () => {
    const { state, input } = setup();
    input.onPointerDown(pointer('pointerdown', 1, 0, 0));
    expect(input.cursor.value).toBe('grabbing');
    input.onPointerMove(pointer('pointermove', 1, 5, 7, { pointerId: 2 }));
    input.onPointerMove(pointer('pointermove', 1, 5, 7));
    expect(state.transform).toEqual({ scale: 1, tx: 5, ty: 7 });
    input.onPointerUp(pointer('pointerup', 1, 5, 7));
    input.onPointerDown(pointer('pointerdown', 2, 0, 0));
    expect(input.cursor.value).toBe('zoom-in');
    input.onPointerMove(pointer('pointermove', 2, 0, 100));
    expect(state.transform.scale).toBeGreaterThan(1);
    expect(state.window).toEqual({ center: 100, width: 200 });
    input.onPointerUp(pointer('pointerup', 2, 0, 100));
  });

  it('the wheel scrolls images, Ctrl+wheel zooms at the cursor, double-click fits, the cursor is reported', () => {
    const { state, input, hovered } = setup();
    const wheel = new WheelEvent('wheel', { deltaY: 100, clientX: 50, clientY: 60, cancelable: true });
    input.onWheel(wheel);
    expect(wheel.defaultPrevented).toBe(true);
    expect(state.scrolls).toEqual([1]);
    expect(state.transform.scale).toBe(1);
    const ctrlWheel = new WheelEvent('wheel', { deltaY: -100, clientX: 50, clientY: 60, ctrlKey: true, cancelable: true });
    Object.defineProperty(ctrlWheel, 'ctrlKey', { value: true }); // happy-dom's WheelEvent drops the modifier keys
    input.onWheel(ctrlWheel);
    expect(ctrlWheel.defaultPrevented).toBe(true); // not the browser's page zoom
    expect(state.transform.scale).toBeGreaterThan(1);
    expect(state.scrolls).toEqual([1]);
    input.onDoubleClick(new MouseEvent('dblclick', { button: 0 }));
    expect(state.fits).toBe(1);
    input.onPointerMove(pointer('pointermove', 0, 3, 4));
    input.onPointerLeave();
    expect(hovered.slice(-2)).toEqual([{ x: 3, y: 4 }, null]);
  });

  it('follows the "Sightline classic" preset: right-drag W/L, left-drag pan, wheel zoom', () => {
    const { state, input } = setup(bindingsFromSlots(mousePresets.classic.slots));
    input.onPointerDown(pointer('pointerdown', 2, 10, 10));
    input.onPointerMove(pointer('pointermove', 2, 40, 30));
    input.onPointerUp(pointer('pointerup', 2, 40, 30));
    expect(state.window).toEqual({ center: 120, width: 230 });
    input.onPointerDown(pointer('pointerdown', 0, 0, 0));
    input.onPointerMove(pointer('pointermove', 0, 5, 7));
    input.onPointerUp(pointer('pointerup', 0, 5, 7));
    expect(state.transform).toEqual({ scale: 1, tx: 5, ty: 7 });
    input.onWheel(new WheelEvent('wheel', { deltaY: -100, cancelable: true }));
    expect(state.transform.scale).toBeGreaterThan(1);
    expect(state.scrolls).toEqual([]);
  });

  it('does nothing without an image, and leaves unbound buttons alone', () => {
    const off = setup(defaultMouseBindings, false);
    off.input.onPointerDown(pointer('pointerdown', 0, 0, 0));
    const wheel = new WheelEvent('wheel', { deltaY: -100, cancelable: true });
    off.input.onWheel(wheel);
    expect(wheel.defaultPrevented).toBe(false);
    expect(off.input.active.value).toBeNull();
    const on = setup();
    const back = pointer('pointerdown', 3, 0, 0);
    on.input.onPointerDown(back);
    expect(back.defaultPrevented).toBe(false);
    expect(on.input.active.value).toBeNull();
  });

});

describe('viewport', () => {
  const calls: string[] = [];
  const fakeGl = (canvas: HTMLCanvasElement) =>
    ({
      canvas,
      COLOR_BUFFER_BIT: 0x4000,
      viewport: () => calls.push('viewport'),
      clearColor: () => undefined,
      clear: () => calls.push('clear'),
      getExtension: (name: string) => (name === 'WEBGL_lose_context' ? { loseContext: () => calls.push('loseContext') } : null),
    }) as unknown as WebGL2RenderingContext;

  afterEach(() => {
    calls.length = 0;
    vi.restoreAllMocks();
  });

  function layer(id: string, order: number, surface: 'webgl' | 'element' = 'webgl', draw?: (f: FrameContext) => void): ViewportLayer & { host?: LayerHost } {
    const l: ViewportLayer & { host?: LayerHost } = {
      id,
      order,
      surface,
      attach(host) {
        l.host = host;
        calls.push(`attach ${id}`);
        if (surface === 'element') {
          const el = document.createElement('div');
          el.dataset.layer = id;
          host.mount(el, order);
        }
      },
      draw(f) {
        calls.push(`draw ${id}`);
        draw?.(f);
      },
      detach: () => calls.push(`detach ${id}`),
      dispose: () => calls.push(`dispose ${id}`),
    };
    return l;
  }

  function mountViewport(layers: ViewportLayer[]) {
    vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockImplementation(function (this: HTMLCanvasElement) {
      return fakeGl(this) as never;
    });
    let viewport!: Viewport;
    const root = document.createElement('div');
    document.body.append(root);
    const app = createApp({
      setup() {
        viewport = useViewport({ contentSize: () => ({ columns: 100, rows: 50 }) });
        for (const l of layers) viewport.addLayer(l);
        return () =>
          h('div', { ref: viewport.container }, [h('canvas', { ref: viewport.canvas }), h('div', { ref: viewport.layerRoot })]);
      },
    });
    app.mount(root);
    return { viewport, app, root };
  }

  it('draws its layers in order each frame and counts the frames', () => {
    const { viewport, app } = mountViewport([layer('boxes', 20), layer('image', 0), layer('heatmap', 10)]);
    expect(calls.filter((c) => c.startsWith('attach'))).toEqual(['attach image', 'attach heatmap', 'attach boxes']);
    const count = viewport.renderCount.value;
    calls.length = 0;
    viewport.render();
    expect(calls).toEqual(['viewport', 'clear', 'draw image', 'draw heatmap', 'draw boxes']);
    expect(viewport.renderCount.value).toBe(count + 1);
    app.unmount();
    // the layers are freed, then the context is given back (Compare and the small multiples come and go)
    expect(calls.slice(-4)).toEqual(['dispose image', 'dispose heatmap', 'dispose boxes', 'loseContext']);
  });

  it('stacks element layers above the canvas by order, and removes them', () => {
    const boxes = layer('boxes', 20, 'element');
    const { viewport, root, app } = mountViewport([boxes, layer('image', 0)]);
    const remove = viewport.addLayer(layer('heatmap', 10, 'element'));
    const stacked = () => [...root.querySelectorAll('[data-layer]')].map((e) => (e as HTMLElement).dataset.layer);
    expect(stacked()).toEqual(['heatmap', 'boxes']);
    expect((root.querySelector('[data-layer]') as HTMLElement).style.pointerEvents).toBe('none');
    remove();
    expect(calls.at(-1)).toBe('dispose heatmap');
    app.unmount();
  });

  it('a failing layer fails the frame: the message is shown and the counter stays', () => {
    let fail = true;
    const { viewport, app } = mountViewport([
      layer('image', 0, 'webgl', () => {
        if (fail) throw new Error('texture upload failed');
      }),
    ]);
    const count = viewport.renderCount.value;
    viewport.render();
    expect(viewport.error.value).toBe('texture upload failed');
    expect(viewport.renderCount.value).toBe(count);
    fail = false;
    viewport.render();
    expect(viewport.error.value).toBeNull();
    expect(viewport.renderCount.value).toBe(count + 1);
    app.unmount();
  });

  it('schedules a frame when a layer input or the transform changes; user moves stop following fit', async () => {
    const input = ref(1);
    const image = layer('image', 0);
    image.inputs = () => input.value;
    const { viewport, app } = mountViewport([image]);
    await new Promise((r) => requestAnimationFrame(r));
    const count = viewport.renderCount.value;
    input.value = 2;
    await nextTick();
    await new Promise((r) => requestAnimationFrame(r));
    expect(viewport.renderCount.value).toBe(count + 1);
    viewport.setTransform({ scale: 3, tx: 1, ty: 2 });
    expect(viewport.fitted.value).toBe(false);
    await nextTick();
    await new Promise((r) => requestAnimationFrame(r));
    expect(viewport.renderCount.value).toBe(count + 2);
    viewport.fit();
    expect(viewport.fitted.value).toBe(true);
    app.unmount();
  });

  it('detaches WebGL layers when the context is lost and attaches them again on restore', () => {
    const { viewport, app, root } = mountViewport([layer('image', 0), layer('boxes', 20, 'element')]);
    const canvas = root.querySelector('canvas')!;
    calls.length = 0;
    canvas.dispatchEvent(new Event('webglcontextlost', { cancelable: true }));
    expect(calls).toEqual(['detach image']);
    expect(viewport.error.value).toMatch(/context was lost/);
    canvas.dispatchEvent(new Event('webglcontextrestored'));
    expect(calls).toEqual(['detach image', 'attach image']);
    expect(viewport.error.value).toBeNull();
    app.unmount();
  });
});
