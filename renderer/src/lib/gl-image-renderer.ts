// WebGL2 renderer for single-channel medical images at full bit depth.
//
// Texture choice: stored values are uploaded untouched as an unsigned/signed *integer* texture
// (R8UI / R16UI / R16I) and read with texelFetch. Integer textures are core WebGL2 (no extension), hold
// every 16-bit value exactly and take 2 bytes per pixel. They cannot be filtered by the GPU, so the
// shader does its own bilinear interpolation (4 texelFetch) in highp float (24-bit mantissa: exact for
// 16-bit samples), then rescale (slope/intercept) -> linear VOI window -> optional inversion.
// The alternative, R32F with modality values, needs OES_texture_float_linear for filtering (absent on
// many mobile/ANGLE configurations), doubles memory and still needs a CPU conversion pass.

import type { Encoding } from './window-level';

export interface RenderParams {
  /** device pixels per image pixel */
  scale: number;
  /** image origin in device pixels from the canvas top-left */
  tx: number;
  ty: number;
  /** the inverse of the display orientation (lib/view-transform.ts inverseOrientMatrix); default identity */
  unorient?: readonly [number, number, number, number];
  center: number;
  width: number;
  invert: boolean;
  slope: number;
  intercept: number;
  background: [number, number, number];
}

const VERTEX = `#version 300 es
// Full-screen triangle from gl_VertexID: no vertex buffers needed.
void main() {
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}`;

function fragmentSource(sampler: 'usampler2D' | 'isampler2D'): string {
  return `#version 300 es
precision highp float;
precision highp int;
precision highp ${sampler};
uniform highp ${sampler} u_image;
uniform ivec2 u_size;         // columns, rows
uniform vec3 u_view;          // scale, tx, ty (device px, top-left origin)
uniform vec4 u_unorient;      // inverse display orientation (rotate/flip) row-major: lib/view-transform.ts
uniform float u_canvasHeight; // device px
uniform float u_slope;
uniform float u_intercept;
uniform float u_center;
uniform float u_width;
uniform bool u_invert;
uniform vec3 u_background;
out vec4 outColor;

float stored(ivec2 p) {
  p = clamp(p, ivec2(0), u_size - 1);
  return float(texelFetch(u_image, p, 0).r);
}

// Bilinear interpolation between pixel centres (pixel (i, j) covers [i, i+1) x [j, j+1)).
float bilinear(vec2 img) {
  vec2 p = img - 0.5;
  vec2 f = fract(p);
  ivec2 i = ivec2(floor(p));
  float a = stored(i);
  float b = stored(i + ivec2(1, 0));
  float c = stored(i + ivec2(0, 1));
  float d = stored(i + ivec2(1, 1));
  return mix(mix(a, b, f.x), mix(c, d, f.x), f.y);
}

// DICOM linear VOI LUT function.
float voi(float m) {
  if (u_width <= 1.0) return m < u_center - 0.5 ? 0.0 : 1.0;
  return clamp((m - (u_center - 0.5)) / (u_width - 1.0) + 0.5, 0.0, 1.0);
}

void main() {
  vec2 frag = vec2(gl_FragCoord.x, u_canvasHeight - gl_FragCoord.y);
  vec2 o = (frag - u_view.yz) / u_view.x;
  vec2 img = vec2(dot(u_unorient.xy, o), dot(u_unorient.zw, o));
  vec2 size = vec2(u_size);
  if (img.x < 0.0 || img.y < 0.0 || img.x >= size.x || img.y >= size.y) {
    outColor = vec4(u_background, 1.0);
    return;
  }
  float v;
  if (u_view.x < 0.75) {
    // Minified: 2x2 supersampling within the screen pixel footprint limits aliasing.
    float d = 0.25 / u_view.x;
    v = 0.25 * (bilinear(img + vec2(-d, -d)) + bilinear(img + vec2(d, -d)) + bilinear(img + vec2(-d, d)) + bilinear(img + vec2(d, d)));
  } else {
    v = bilinear(img);
  }
  float g = voi(v * u_slope + u_intercept);
  if (u_invert) g = 1.0 - g;
  outColor = vec4(vec3(g), 1.0);
}`;
}

interface Program {
  program: WebGLProgram;
  uniforms: Record<string, WebGLUniformLocation | null>;
}

const UNIFORMS = ['u_image', 'u_size', 'u_view', 'u_unorient', 'u_canvasHeight', 'u_slope', 'u_intercept', 'u_center', 'u_width', 'u_invert', 'u_background'];

/** The viewer's WebGL2 context (one per canvas: the viewport creates it, every WebGL layer draws into it). */
export function createGlContext(canvas: HTMLCanvasElement): WebGL2RenderingContext {
  const gl = canvas.getContext('webgl2', {
    preserveDrawingBuffer: true,
    antialias: false,
    alpha: false,
    depth: false,
    stencil: false,
    premultipliedAlpha: false,
  });
  if (!gl) throw new Error('WebGL2 is not available: the viewer needs a GPU or software WebGL2 (SwiftShader).');
  return gl;
}

export class GlImageRenderer {
  readonly gl: WebGL2RenderingContext;
  private programs = new Map<string, Program>();
  private vao: WebGLVertexArrayObject | null;
  private texture: WebGLTexture | null = null;
  private sampler: 'usampler2D' | 'isampler2D' = 'usampler2D';
  private size: [number, number] = [0, 0];
  readonly maxTextureSize: number;

  /** Draws into `target`'s WebGL2 context (a canvas: its context is created with createGlContext). */
  constructor(target: HTMLCanvasElement | WebGL2RenderingContext) {
    const gl = 'drawingBufferWidth' in target ? target : createGlContext(target);
    this.gl = gl;
    this.vao = gl.createVertexArray();
    this.maxTextureSize = gl.getParameter(gl.MAX_TEXTURE_SIZE) as number;
  }

  private getProgram(sampler: 'usampler2D' | 'isampler2D'): Program {
    const cached = this.programs.get(sampler);
    if (cached) return cached;
    const gl = this.gl;
    const compile = (type: number, src: string): WebGLShader => {
      const shader = gl.createShader(type);
      if (!shader) throw new Error('could not create a WebGL shader');
      gl.shaderSource(shader, src);
      gl.compileShader(shader);
      if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
        const log = gl.getShaderInfoLog(shader);
        gl.deleteShader(shader);
        throw new Error(`shader compile failed: ${log ?? ''}`);
      }
      return shader;
    };
    const vs = compile(gl.VERTEX_SHADER, VERTEX);
    const fs = compile(gl.FRAGMENT_SHADER, fragmentSource(sampler));
    const program = gl.createProgram();
    if (!program) throw new Error('could not create a WebGL program');
    gl.attachShader(program, vs);
    gl.attachShader(program, fs);
    gl.linkProgram(program);
    gl.deleteShader(vs);
    gl.deleteShader(fs);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(`shader link failed: ${gl.getProgramInfoLog(program) ?? ''}`);
    const uniforms: Program['uniforms'] = {};
    for (const u of UNIFORMS) uniforms[u] = gl.getUniformLocation(program, u);
    const p = { program, uniforms };
    this.programs.set(sampler, p);
    return p;
  }

  /** Upload stored samples (row-major, `columns` x `rows`) as an integer texture. */
  setImage(samples: Uint8Array | Uint16Array | Int16Array, encoding: Encoding, columns: number, rows: number): void {
    const gl = this.gl;
    if (columns > this.maxTextureSize || rows > this.maxTextureSize) {
      throw new Error(`image ${columns}×${rows} exceeds this GPU's texture limit (${this.maxTextureSize})`);
    }
    if (samples.length < columns * rows) throw new Error('pixel data is shorter than rows × columns');
    if (this.texture) gl.deleteTexture(this.texture);
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    const count = columns * rows;
    if (encoding === 'uint8') {
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.R8UI, columns, rows, 0, gl.RED_INTEGER, gl.UNSIGNED_BYTE, samples.subarray(0, count));
      this.sampler = 'usampler2D';
    } else if (encoding === 'uint16') {
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.R16UI, columns, rows, 0, gl.RED_INTEGER, gl.UNSIGNED_SHORT, samples.subarray(0, count));
      this.sampler = 'usampler2D';
    } else {
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.R16I, columns, rows, 0, gl.RED_INTEGER, gl.SHORT, samples.subarray(0, count));
      this.sampler = 'isampler2D';
    }
    const err = gl.getError();
    if (err !== gl.NO_ERROR) throw new Error(`texture upload failed (GL error 0x${err.toString(16)})`);
    this.texture = texture;
    this.size = [columns, rows];
  }

  clearImage(): void {
    if (this.texture) this.gl.deleteTexture(this.texture);
    this.texture = null;
    this.size = [0, 0];
  }

  render(p: RenderParams): void {
    const gl = this.gl;
    const w = gl.canvas.width;
    const h = gl.canvas.height;
    gl.viewport(0, 0, w, h);
    gl.clearColor(p.background[0], p.background[1], p.background[2], 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!this.texture) return;
    const prog = this.getProgram(this.sampler);
    gl.useProgram(prog.program);
    gl.bindVertexArray(this.vao);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.texture);
    const u = prog.uniforms;
    gl.uniform1i(u.u_image, 0);
    gl.uniform2i(u.u_size, this.size[0], this.size[1]);
    gl.uniform3f(u.u_view, p.scale, p.tx, p.ty);
    const m = p.unorient ?? [1, 0, 0, 1];
    gl.uniform4f(u.u_unorient, m[0], m[1], m[2], m[3]);
    gl.uniform1f(u.u_canvasHeight, h);
    gl.uniform1f(u.u_slope, p.slope);
    gl.uniform1f(u.u_intercept, p.intercept);
    gl.uniform1f(u.u_center, p.center);
    gl.uniform1f(u.u_width, p.width);
    gl.uniform1i(u.u_invert, p.invert ? 1 : 0);
    gl.uniform3f(u.u_background, p.background[0], p.background[1], p.background[2]);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
  }

  dispose(): void {
    const gl = this.gl;
    this.clearImage();
    for (const p of this.programs.values()) gl.deleteProgram(p.program);
    this.programs.clear();
    if (this.vao) gl.deleteVertexArray(this.vao);
    this.vao = null;
  }
}
