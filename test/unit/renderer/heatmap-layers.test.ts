// @vitest-environment happy-dom
// The grounding layers without a GPU: the heatmap layer's GL calls (through a recording fake context), the SVG
// layers' content in image coordinates under the view transform.
import { describe, expect, it } from 'vitest';
import { colormapTable } from '../../../renderer/src/lib/colormaps';
import { NO_VALUE } from '../../../renderer/src/lib/gl-heatmap-renderer';
import type { LoadedHeatmap } from '../../../renderer/src/lib/heatmap';
import { createBoxesLayer, type Box } from '../../../renderer/src/viewer/boxes-layer';
import { createHeatmapLayer, type HeatmapLayerState } from '../../../renderer/src/viewer/heatmap-layer';
import { createIsolinesLayer } from '../../../renderer/src/viewer/isolines-layer';
import type { FrameContext, LayerHost } from '../../../renderer/src/viewer/viewport';

type Call = [string, ...unknown[]];

/** A WebGL2 context that records every call; constants are their own names, errors none, compiles succeed. */
function recordingGl() {
  const calls: Call[] = [];
  const canvas = { width: 200, height: 100 };
  const gl = new Proxy({} as Record<string, unknown>, {
    get(_, prop: string) {
      if (prop === 'canvas') return canvas;
      if (/^[A-Z0-9_]+$/.test(prop)) return prop;
      return (...args: unknown[]) => {
        calls.push([prop, ...args]);
        if (prop === 'getError') return 'NO_ERROR';
        if (prop === 'getShaderParameter' || prop === 'getProgramParameter') return true;
        if (prop === 'getUniformLocation') return args[1];
        return {};
      };
    },
  }) as unknown as WebGL2RenderingContext;
  return { gl, calls };
}

const frame = (gl: WebGL2RenderingContext | null, scale = 2, tx = 10, ty = 20): FrameContext => ({
  transform: { scale, tx, ty },
  width: 200,
  height: 100,
  dpr: 1,
  background: [0, 0, 0],
  gl,
});

function hostFor(gl: WebGL2RenderingContext | null) {
  const root = document.createElement('div');
  document.body.append(root);
  const host: LayerHost = {
    gl,
    mount(el) {
      root.append(el);
      return () => el.remove();
    },
    requestRender: () => undefined,
  };
  return { host, root };
}

function heatmap(id: number, size = 4): LoadedHeatmap {
  const values = new Float32Array(size * size);
  values[5] = values[6] = values[9] = values[10] = 1;
  const geometry = { originalRows: 60, originalColumns: 40, top: 10, left: 0, width: 40, height: 40 };
  return { id, imageId: 7, phrase: 'p', model: 'demo', variant: 'frozen', source: 'model', width: size, height: size, values, threshold: null, geometry, min: 0, max: 1 };
}

describe('heatmap layer', () => {
  it('uploads the map (R32F) and the colormap once, blends over the image, restores the blend state', () => {
    const { gl, calls } = recordingGl();
    const state: HeatmapLayerState = { heatmap: heatmap(3), visible: true, colormap: 'inferno', table: colormapTable('inferno'), opacity: 0.5, lower: 0.1, range: [0, 1], sampling: 'nearest' };
    const layer = createHeatmapLayer(() => state);
    expect([layer.order, layer.surface]).toEqual([10, 'webgl']);
    layer.attach(hostFor(gl).host);
    layer.draw(frame(gl));
    const uploads = calls.filter((c) => c[0] === 'texImage2D');
    expect(uploads.map((c) => c[3])).toEqual(['R32F', 'RGBA8']);
    expect(uploads[0].slice(4, 6)).toEqual([4, 4]);
    expect(uploads[1].slice(4, 6)).toEqual([256, 1]);
    const names = calls.map((c) => c[0]);
    expect(names.indexOf('enable')).toBeLessThan(names.indexOf('drawArrays'));
    expect(names.indexOf('disable')).toBeGreaterThan(names.indexOf('drawArrays'));
    expect(calls.find((c) => c[0] === 'uniform4i')).toEqual(['uniform4i', 'u_rect', 0, 10, 40, 40]);
    expect(calls.find((c) => c[0] === 'uniform2i')).toEqual(['uniform2i', 'u_size', 4, 4]);
    expect(calls.find((c) => c[0] === 'uniform4f' && c[1] === 'u_style')).toEqual(['uniform4f', 'u_style', 0.1, 0, 1, 0.5]);
    // no rotation or flip: the identity (lib/view-transform.ts inverseOrientMatrix)
    expect(calls.find((c) => c[0] === 'uniform4f' && c[1] === 'u_unorient')).toEqual(['uniform4f', 'u_unorient', 1, 0, 0, 1]);
    expect(calls.find((c) => c[0] === 'uniform3f' && c[1] === 'u_view')).toEqual(['uniform3f', 'u_view', 2, 10, 20]);
    expect(layer.renderedId.value).toBe(3);

    // the next frame uploads nothing; a new colormap uploads only the table; a new map only the map
    calls.length = 0;
    layer.draw(frame(gl));
    expect(calls.filter((c) => c[0] === 'texImage2D')).toEqual([]);
    state.colormap = 'viridis';
    state.table = colormapTable('viridis');
    state.sampling = 'bilinear';
    layer.draw(frame(gl));
    expect(calls.filter((c) => c[0] === 'texImage2D').map((c) => c[3])).toEqual(['RGBA8']);
    expect(calls.filter((c) => c[0] === 'uniform1i' && c[1] === 'u_bilinear').at(-1)).toEqual(['uniform1i', 'u_bilinear', 1]);
    state.heatmap = heatmap(4);
    calls.length = 0;
    layer.draw(frame(gl));
    expect(calls.filter((c) => c[0] === 'texImage2D').map((c) => c[3])).toEqual(['R32F']);
    expect(layer.renderedId.value).toBe(4);

    // an imported map: W x H over its rectangle (here the whole image), its NaN uploaded as the sentinel
    const values = Float32Array.from([0.5, NaN, 1, 2, 3, 4]);
    state.heatmap = { ...heatmap(5), source: 'imported', width: 3, height: 2, values, geometry: { originalRows: 60, originalColumns: 40, top: 0, left: 0, width: 40, height: 60 } };
    calls.length = 0;
    layer.draw(frame(gl));
    const upload = calls.find((c) => c[0] === 'texImage2D')!;
    expect(upload.slice(3, 6)).toEqual(['R32F', 3, 2]);
    expect(Array.from(upload[9] as Float32Array)).toEqual([0.5, NO_VALUE, 1, 2, 3, 4].map(Math.fround));
    expect(calls.find((c) => c[0] === 'uniform4i')).toEqual(['uniform4i', 'u_rect', 0, 0, 40, 60]);
    expect(calls.find((c) => c[0] === 'uniform2i')).toEqual(['uniform2i', 'u_size', 3, 2]);
  });

  it('draws nothing when hidden or empty, and recovers from a lost context', () => {
    const { gl, calls } = recordingGl();
    const state: HeatmapLayerState = { heatmap: heatmap(3), visible: false, colormap: 'grey', table: colormapTable('grey'), opacity: 1, lower: 0, range: [0, 1], sampling: 'nearest' };
    const layer = createHeatmapLayer(() => state);
    layer.attach(hostFor(gl).host);
    layer.draw(frame(gl));
    expect(calls.some((c) => c[0] === 'drawArrays')).toBe(false);
    expect(layer.renderedId.value).toBeNull();
    state.visible = true;
    layer.draw(frame(gl));
    expect(layer.renderedId.value).toBe(3);
    layer.detach();
    expect(layer.renderedId.value).toBeNull();
    const next = recordingGl();
    layer.attach(hostFor(next.gl).host);
    layer.draw(frame(next.gl));
    expect(next.calls.filter((c) => c[0] === 'texImage2D').map((c) => c[3])).toEqual(['R32F', 'RGBA8']); // uploaded again
    state.heatmap = null;
    layer.draw(frame(next.gl));
    expect(layer.renderedId.value).toBeNull();
    expect(layer.inputs?.()).toEqual([undefined, true, 'grey', 1, 0, 0, 1, 'nearest']);
  });
});

describe('SVG layers', () => {
  const box = (id: number, source: 'dataset' | 'user'): Box => ({ id, imageId: 7, phraseId: 1, x: 5, y: 6, w: 30, h: 20, source });

  it('boxes: rectangles in image pixels under the view transform; hidden when off or empty', () => {
    const state = { boxes: [box(1, 'dataset'), box(2, 'user')] as readonly Box[], visible: true };
    const layer = createBoxesLayer(() => state);
    const { host, root } = hostFor(null);
    layer.attach(host);
    layer.draw(frame(null, 1.5, 4, 8));
    const svg = root.querySelector('[data-testid="boxes-layer"]') as SVGSVGElement;
    expect(svg.getAttribute('data-box-count')).toBe('2');
    expect(svg.style.display).toBe('');
    expect(svg.querySelector('g')!.getAttribute('transform')).toBe('matrix(1.5 0 0 1.5 4 8)');
    const rects = [...svg.querySelectorAll('[data-testid="gt-box"]')];
    expect(rects.map((r) => [r.getAttribute('x'), r.getAttribute('y'), r.getAttribute('width'), r.getAttribute('height')])).toEqual([
      ['5', '6', '30', '20'],
      ['5', '6', '30', '20'],
    ]);
    expect(rects.map((r) => r.getAttribute('stroke-dasharray'))).toEqual([null, '6 4']);
    state.visible = false;
    layer.draw(frame(null));
    expect(svg.style.display).toBe('none');
    state.visible = true;
    state.boxes = [];
    layer.draw(frame(null));
    expect(svg.style.display).toBe('none');
    layer.dispose();
    expect(root.querySelector('svg')).toBeNull();
  });

  it('isolines: built once per map and levels, moved by the transform only', () => {
    const state = { heatmap: heatmap(3) as LoadedHeatmap | null, levels: [0.5] as readonly number[] | null };
    const layer = createIsolinesLayer(() => state);
    const { host, root } = hostFor(null);
    layer.attach(host);
    layer.draw(frame(null));
    const svg = root.querySelector('[data-testid="isolines-layer"]') as SVGSVGElement;
    expect(svg.getAttribute('data-isoline-count')).toBe('1');
    const path = svg.querySelector('[data-testid="isoline"]')!;
    expect(path.getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+L/);
    layer.draw(frame(null, 3, 0, 0));
    expect(svg.querySelector('[data-testid="isoline"]')).toBe(path); // not rebuilt
    expect(svg.querySelector('g')!.getAttribute('transform')).toBe('matrix(3 0 0 3 0 0)');
    state.levels = [0.25, 0.75];
    layer.draw(frame(null));
    expect(svg.querySelectorAll('[data-testid="isoline"]').length).toBe(2);
    state.levels = null;
    layer.draw(frame(null));
    expect(svg.style.display).toBe('none');
  });
});
