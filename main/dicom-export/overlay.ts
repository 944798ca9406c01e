// The heatmap burned into the image, as a colour Secondary Capture any PACS viewer shows (objects 'overlay'): the
// image through its first window (the file's own, else the full range), the map above its threshold in inferno (the
// viewer's default colormap) at an opacity growing with the value, and a caption band under the image naming the
// phrase, the model and variant, and "NOT FOR DIAGNOSTIC USE". Rendered here on the CPU, with a bitmap font
// (caption-font.ts), so that the command line writes the same object as the app.
import { interpolateInferno } from 'd3-scale-chromatic';
import { dicomLinearWindow } from '../grounding/image-ops';
import type { DecodedImage } from '../imaging';
import { CELL_HEIGHT, CELL_WIDTH, FIRST_CODE, GLYPHS_BASE64 } from './caption-font';
import { baseDataSet, clip, code, NOT_FOR_DIAGNOSTIC_USE, type ExportContext, type SourceRef } from './common';
import type { DataSet } from './part10';
import { SC_SOP_CLASS } from './sc';

/** the heatmap's opacity at its maximum (at its threshold: none) */
const MAX_OPACITY = 0.6;
// d3's inferno answers "#rrggbb"
const INFERNO = Array.from({ length: 256 }, (_, i) => {
  const hex = parseInt(interpolateInferno(i / 255).slice(1), 16);
  return [hex >> 16, (hex >> 8) & 255, hex & 255];
});
const GLYPHS = Buffer.from(GLYPHS_BASE64, 'base64');

/** the image's grey levels (0..255) through its first window, MONOCHROME1 inverted (the decoders always give one:
 * the file's own, else the full range) */
export function windowed(image: DecodedImage): Uint8Array {
  const { pixels, rescaleSlope: slope, rescaleIntercept: intercept } = image;
  const { center, width } = image.windows[0];
  const out = new Uint8Array(pixels.length);
  const invert = image.photometric === 'MONOCHROME1';
  for (let i = 0; i < pixels.length; i++) {
    const t = dicomLinearWindow(pixels[i] * slope + intercept, center, width);
    out[i] = Math.round((invert ? 1 - t : t) * 255);
  }
  return out;
}

/** Draws `text` in white at (x, y) of an RGB buffer `width` wide, each font pixel a `scale` x `scale` block. */
function drawText(rgb: Uint8Array, width: number, x0: number, y0: number, text: string, scale: number): void {
  let x = x0;
  // the font is ASCII: accents dropped (é -> e), anything else drawn as '?'
  for (const ch of text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '')) {
    const c = ch.charCodeAt(0);
    const glyph = c >= FIRST_CODE && c < FIRST_CODE + 95 ? c - FIRST_CODE : '?'.charCodeAt(0) - FIRST_CODE;
    if (x + CELL_WIDTH * scale > width) break; // the caption is cut at the image's edge
    for (let gy = 0; gy < CELL_HEIGHT; gy++) {
      const bits = GLYPHS.readUInt16LE((glyph * CELL_HEIGHT + gy) * 2);
      for (let gx = 0; gx < CELL_WIDTH; gx++) {
        if (!(bits & (1 << gx))) continue;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) rgb.fill(255, ((y0 + gy * scale + dy) * width + x + gx * scale + dx) * 3, ((y0 + gy * scale + dy) * width + x + gx * scale + dx) * 3 + 3);
      }
    }
    x += CELL_WIDTH * scale;
  }
}

export interface Overlay {
  /** RGB, row-major, `columns` x `rows` (the image's rows and the caption band) */
  rgb: Uint8Array;
  rows: number;
  columns: number;
  /** the caption's lines as burned in */
  caption: string[];
}

/**
 * The overlay of `values` (the map at the image's size, NaN where it has none) over `image`: pixels above
 * `threshold` (all when null) blended with inferno; the caption in a black band below.
 */
export function renderOverlay(image: DecodedImage, values: Float32Array, threshold: number | null, caption: string[]): Overlay {
  const grey = windowed(image);
  const { rows, columns } = image;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) if (!Number.isNaN(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const floor = threshold ?? lo;
  const span = hi > floor ? hi - floor : 1;
  const scale = Math.max(1, Math.round(Math.min(rows, columns) / 600));
  const line = CELL_HEIGHT * scale;
  const band = line * caption.length + 2 * scale * 4;
  const rgb = new Uint8Array(columns * (rows + band) * 3);
  for (let i = 0; i < rows * columns; i++) {
    const g = grey[i];
    const v = values[i];
    let [r, gg, b] = [g, g, g];
    if (!Number.isNaN(v) && (threshold === null || v > threshold)) {
      const t = Math.min(1, Math.max(0, (v - floor) / span));
      const [cr, cg, cb] = INFERNO[Math.round(t * 255)];
      const a = MAX_OPACITY * t;
      [r, gg, b] = [cr * a + g * (1 - a), cg * a + g * (1 - a), cb * a + g * (1 - a)];
    }
    rgb[i * 3] = Math.round(r);
    rgb[i * 3 + 1] = Math.round(gg);
    rgb[i * 3 + 2] = Math.round(b);
  }
  caption.forEach((text, k) => drawText(rgb, columns, 4 * scale, rows + 4 * scale + k * line, text, scale));
  return { rgb, rows: rows + band, columns, caption };
}

/** The overlay as a Secondary Capture in the source's study (series 904), referring to the source image. */
export function overlayDataSet(ctx: ExportContext, source: SourceRef, overlay: Overlay, derivation: string): DataSet {
  const pixels = new Uint8Array(overlay.rgb.length + (overlay.rgb.length % 2));
  pixels.set(overlay.rgb);
  return {
    ...baseDataSet(ctx, source, { key: 'overlay', sopClassUid: SC_SOP_CLASS, modality: 'OT', seriesNumber: 904, seriesDescription: 'Sightline heatmap overlay' }),
    BodyPartExamined: 'CHEST',
    ConversionType: 'WSD',
    SecondaryCaptureDeviceManufacturer: 'Sightline',
    SecondaryCaptureDeviceSoftwareVersions: ctx.softwareVersion,
    PatientOrientation: '',
    ImageType: ['DERIVED', 'SECONDARY'],
    DerivationDescription: clip(derivation, 1024),
    SourceImageSequence: [
      { ReferencedSOPClassUID: source.sopClassUid, ReferencedSOPInstanceUID: source.sopInstanceUid, PurposeOfReferenceCodeSequence: [code('121322', 'DCM', 'Source image for image processing operation')] },
    ],
    ImageComments: `${overlay.caption.join(' / ')}`.slice(0, 10240),
    BurnedInAnnotation: 'YES',
    LossyImageCompression: '00',
    SamplesPerPixel: 3,
    PhotometricInterpretation: 'RGB',
    PlanarConfiguration: 0,
    Rows: overlay.rows,
    Columns: overlay.columns,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    PixelData: [pixels.buffer],
    _vrMap: { PixelData: 'OB' },
  };
}

export const overlayCaption = (phrase: string, model: string): string[] => [`"${phrase}"`, model, `${NOT_FOR_DIAGNOSTIC_USE.toUpperCase()} - Sightline`];
