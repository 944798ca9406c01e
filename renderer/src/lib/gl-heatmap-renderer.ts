// WebGL2 renderer for a heatmap over the image, into the viewer's shared context (blended above the image).
//
// The W x H map goes up as an R32F texture (its values untouched; no value, NaN or infinite, becomes a finite
// sentinel far below any value, so that no GLSL NaN semantics are relied on) and the colormap as a 256 x 1 RGBA8
// lookup texture; both are read with texelFetch (core WebGL2: float textures are not filterable without an
// extension, so bilinear sampling is done in the shader, like the image's). Per fragment, as lib/heatmap.ts does
// on the CPU: image point -> outside the geometry rectangle: discard; nearest (the reference mapping per axis, in
// integers) or bilinear map value (no value among the four texels: discard) -> not above the lower threshold:
// discard -> position in the range -> table entry round(t * 255) -> blended with the opacity.

import type { HeatmapGeometry, Sampling } from './heatmap';
import { TABLE_SIZE } from './colormaps';

export interface HeatmapRenderParams {
  /** device pixels per image pixel */
  scale: number;
  /** image origin in device pixels from the canvas top-left */
  tx: number;
  ty: number;
  /** the inverse of the display orientation (lib/view-transform.ts inverseOrientMatrix); default identity */
  unorient?: readonly [number, number, number, number];
  geometry: HeatmapGeometry;
  lower: number;
  min: number;
  max: number;
  opacity: number;
  sampling: Sampling;
}

/** What "no value" (NaN, infinite) becomes in the texture: finite, far below any value (the shader's NO_VALUE_BELOW). */
export const NO_VALUE = -3.0e38;

/** The values with every NaN or infinite one replaced by NO_VALUE (the same array when there is none). */
export function withSentinel(values: Float32Array): Float32Array {
  let out: Float32Array | null = null;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) continue;
    out ??= values.slice();
    out[i] = NO_VALUE;
  }
  return out ?? values;
}

const VERTEX = `#version 300 es
void main() {
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}`;

const FRAGMENT = `#version 300 es
precision highp float;
precision highp int;
precision highp sampler2D;
uniform highp sampler2D u_map;  // R32F, W x H
uniform highp sampler2D u_lut;  // RGBA8, 256 x 1
uniform ivec2 u_size;           // W, H
uniform ivec4 u_rect;           // left, top, width, height (original pixels)
uniform vec3 u_view;            // scale, tx, ty (device px, top-left origin)
uniform vec4 u_unorient;      // inverse display orientation (rotate/flip) row-major: lib/view-transform.ts
uniform float u_canvasHeight;
uniform vec4 u_style;           // lower, min, max, opacity
uniform bool u_bilinear;
out vec4 outColor;

const float NO_VALUE_BELOW = -1.0e38;

float texel(ivec2 p) {
  return texelFetch(u_map, clamp(p, ivec2(0), u_size - 1), 0).r;
}

void main() {
  vec2 frag = vec2(gl_FragCoord.x, u_canvasHeight - gl_FragCoord.y);
  vec2 o = (frag - u_view.yz) / u_view.x;
  vec2 img = vec2(dot(u_unorient.xy, o), dot(u_unorient.zw, o));
  vec2 q = img - vec2(u_rect.xy);
  vec2 extent = vec2(u_rect.zw);
  if (q.x < 0.0 || q.y < 0.0 || q.x >= extent.x || q.y >= extent.y) discard;
  float v;
  if (u_bilinear) {
    vec2 m = q * vec2(u_size) / extent - 0.5;
    vec2 f = fract(m);
    ivec2 i = ivec2(floor(m));
    float a = texel(i), b = texel(i + ivec2(1, 0)), c = texel(i + ivec2(0, 1)), d = texel(i + ivec2(1, 1));
    if (min(min(a, b), min(c, d)) < NO_VALUE_BELOW) discard;
    v = mix(mix(a, b, f.x), mix(c, d, f.x), f.y);
  } else {
    ivec2 d = clamp(ivec2(floor(q)), ivec2(0), u_rect.zw - 1);
    ivec2 m = min(((2 * d + 1) * u_size) / (2 * u_rect.zw), u_size - 1);
    v = texelFetch(u_map, m, 0).r;
    if (v < NO_VALUE_BELOW) discard;
  }
  if (!(v > u_style.x)) discard;
  float span = u_style.z - u_style.y;
  float t = span > 0.0 ? clamp((v - u_style.y) / span, 0.0, 1.0) : (v >= u_style.y ? 1.0 : 0.0);
  int k = int(floor(t * 255.0 + 0.5));
  outColor = vec4(texelFetch(u_lut, ivec2(k, 0), 0).rgb, u_style.w);
}`;

const UNIFORMS = ['u_map', 'u_lut', 'u_size', 'u_rect', 'u_view', 'u_unorient', 'u_canvasHeight', 'u_style', 'u_bilinear'] as const;

export class GlHeatmapRenderer {
  private program: WebGLProgram;
  private uniforms: Record<(typeof UNIFORMS)[number], WebGLUniformLocation | null>;
  private vao: WebGLVertexArrayObject | null;
  private map: WebGLTexture | null = null;
  private lut: WebGLTexture | null = null;
  private size: [number, number] = [0, 0];

  constructor(private readonly gl: WebGL2RenderingContext) {
    const compile = (type: number, src: string): WebGLShader => {
      const shader = gl.createShader(type);
      if (!shader) throw new Error('could not create a WebGL shader');
      gl.shaderSource(shader, src);
      gl.compileShader(shader);
      if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
        const log = gl.getShaderInfoLog(shader);
        gl.deleteShader(shader);
        throw new Error(`heatmap shader compile failed: ${log ?? ''}`);
      }
      return shader;
    };
    const vs = compile(gl.VERTEX_SHADER, VERTEX);
    const fs = compile(gl.FRAGMENT_SHADER, FRAGMENT);
    const program = gl.createProgram();
    if (!program) throw new Error('could not create a WebGL program');
    gl.attachShader(program, vs);
    gl.attachShader(program, fs);
    gl.linkProgram(program);
    gl.deleteShader(vs);
    gl.deleteShader(fs);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(`heatmap shader link failed: ${gl.getProgramInfoLog(program) ?? ''}`);
    this.program = program;
    this.uniforms = Object.fromEntries(UNIFORMS.map((u) => [u, gl.getUniformLocation(program, u)])) as GlHeatmapRenderer['uniforms'];
    this.vao = gl.createVertexArray();
  }

  private texture(): WebGLTexture {
    const gl = this.gl;
    const t = gl.createTexture();
    if (!t) throw new Error('could not create a WebGL texture');
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return t;
  }

  private check(what: string): void {
    const err = this.gl.getError();
    if (err !== this.gl.NO_ERROR) throw new Error(`${what} failed (GL error 0x${err.toString(16)})`);
  }

  /** The width x height map (row-major float32; NaN or infinite: no value). */
  setMap(values: Float32Array, width: number, height: number): void {
    const gl = this.gl;
    const n = width * height;
    if (values.length < n) throw new Error('heatmap values are shorter than width × height');
    this.clearMap();
    this.map = this.texture();
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.R32F, width, height, 0, gl.RED, gl.FLOAT, withSentinel(values.subarray(0, n)));
    this.check('heatmap upload');
    this.size = [width, height];
  }

  clearMap(): void {
    if (this.map) this.gl.deleteTexture(this.map);
    this.map = null;
    this.size = [0, 0];
  }

  /** A 256-entry RGBA colormap table (lib/colormaps.ts). */
  setColormap(table: Uint8Array): void {
    const gl = this.gl;
    if (table.length !== TABLE_SIZE * 4) throw new Error('a colormap table has 256 RGBA entries');
    if (this.lut) gl.deleteTexture(this.lut);
    this.lut = this.texture();
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, TABLE_SIZE, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, table);
    this.check('colormap upload');
  }

  /** Blends the map over what the canvas holds; restores the blend state and texture units it used. */
  render(p: HeatmapRenderParams): void {
    const gl = this.gl;
    if (!this.map || !this.lut) return;
    const u = this.uniforms;
    gl.viewport(0, 0, gl.canvas.width, gl.canvas.height);
    gl.useProgram(this.program);
    gl.bindVertexArray(this.vao);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.map);
    gl.activeTexture(gl.TEXTURE2);
    gl.bindTexture(gl.TEXTURE_2D, this.lut);
    gl.uniform1i(u.u_map, 1);
    gl.uniform1i(u.u_lut, 2);
    gl.uniform2i(u.u_size, this.size[0], this.size[1]);
    gl.uniform4i(u.u_rect, p.geometry.left, p.geometry.top, p.geometry.width, p.geometry.height);
    gl.uniform3f(u.u_view, p.scale, p.tx, p.ty);
    const m = p.unorient ?? [1, 0, 0, 1];
    gl.uniform4f(u.u_unorient, m[0], m[1], m[2], m[3]);
    gl.uniform1f(u.u_canvasHeight, gl.canvas.height);
    gl.uniform4f(u.u_style, p.lower, p.min, p.max, Math.min(1, Math.max(0, p.opacity)));
    gl.uniform1i(u.u_bilinear, p.sampling === 'bilinear' ? 1 : 0);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    gl.disable(gl.BLEND);
    gl.activeTexture(gl.TEXTURE0);
  }

  dispose(): void {
    const gl = this.gl;
    this.clearMap();
    if (this.lut) gl.deleteTexture(this.lut);
    this.lut = null;
    gl.deleteProgram(this.program);
    if (this.vao) gl.deleteVertexArray(this.vao);
    this.vao = null;
  }
}
