// `sightline export-dicom`: a stored heatmap as a DICOM Segmentation and/or Parametric Map, the boxes of a phrase
// as a TID 1500 measurement report, or a study's images, written to a folder (the `dicomExport.write` procedure, as
// in the app), de-identified on request. A PNG/JPEG image is first written as a Secondary Capture. Exit status: 0
// written, 1 refused (no such heatmap, no boxes, an unreadable source), 2 usage.
import { procedures } from '../../common/contract';
import { withRefusals, parseCommandArgs, type Command, type Out } from './shared';

export const exportDicomCommand: Command = {
  name: 'export-dicom',
  usage: `  export-dicom --heatmap ID [--threshold T] [--objects seg,pmap,overlay] --out DIR [--deidentify] [--data-dir D]
       [--json]
                              a stored heatmap as a DICOM Segmentation (the map above the variant's Otsu
                              threshold, or T) and a Parametric Map (the map's values), referencing the image
                              (default seg,pmap); overlay: burned into the image with a caption, a colour
                              Secondary Capture any viewer shows
  export-dicom --image ID --phrase TEXT --boxes [--source dataset|user] --out DIR [--deidentify] [--data-dir D]
       [--json]
                              the phrase's boxes on the image as a TID 1500 measurement report (Comprehensive SR);
                              files are named <SOP class>_<SOP Instance UID>.dcm; a PNG/JPEG image is written
                              first as a Secondary Capture the other objects refer to; exit 0 written, 1 refused,
                              2 usage
  export-dicom --study ID --out DIR [--deidentify [--dates remove|keep|shift]] [--data-dir D] [--json]
                              the study's images: DICOM files as stored, PNG/JPEG as Secondary Captures
  --deidentify                (any export) the DICOM PS3.15 Basic Application Level Confidentiality Profile: the
                              source images go into DIR de-identified (UIDs remapped consistently within the
                              export, patient named by a pseudonym, private tags removed) and the objects refer to
                              them; --dates: removed (default), kept (Retain Full Dates) or shifted by one random
                              offset (Retain Modified Dates); text burned into pixels is not removed: a warning
                              names each image that may carry it`,
  run: exportDicom,
};

const positiveInt = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) && Number(v) > 0 ? Number(v) : null);

async function exportDicom(args: string[], out: Out): Promise<number> {
  const parsed = parseCommandArgs(
    'export-dicom',
    args,
    {
      heatmap: { type: 'string' },
      threshold: { type: 'string' },
      objects: { type: 'string' },
      image: { type: 'string' },
      phrase: { type: 'string' },
      boxes: { type: 'boolean', default: false },
      source: { type: 'string' },
      study: { type: 'string' },
      deidentify: { type: 'boolean', default: false },
      dates: { type: 'string' },
      out: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    out,
  );
  if (!parsed) return 2;
  const { values: v, positionals } = parsed;
  const usage = (message: string) => {
    out.error(`sightline export-dicom: ${message}`);
    return 2;
  };
  if (positionals.length) return usage(`unexpected argument "${positionals[0]}"`);
  if (!v.out) return usage('give --out DIR (the folder the DICOM files are written to)');
  if (v.dates !== undefined && !v.deidentify) return usage('--dates is for --deidentify');
  if (v.dates !== undefined && !['remove', 'keep', 'shift'].includes(v.dates)) return usage(`--dates "${v.dates}": remove, keep or shift`);
  const deidentify = v.deidentify ? { deidentify: { dates: v.dates ?? 'remove' } } : {};
  const given = [v.heatmap, v.image, v.study].filter((x) => x !== undefined).length;
  if (given > 1) return usage('give one of --heatmap ID, --image ID (with --boxes) or --study ID');
  let request: unknown;
  if (v.study !== undefined) {
    if (v.threshold !== undefined || v.objects !== undefined || v.phrase !== undefined || v.boxes || v.source !== undefined) return usage('--study exports the study\'s images; --threshold, --objects, --phrase, --boxes and --source are for heatmaps and boxes');
    const studyId = positiveInt(v.study);
    if (studyId === null) return usage(`--study "${v.study}" is not a study id (see \`sightline studies --json\`)`);
    request = { kind: 'study', studyId, out: v.out, ...deidentify };
  } else if (v.heatmap !== undefined) {
    if (v.image !== undefined || v.phrase !== undefined || v.boxes || v.source !== undefined) return usage('--heatmap exports a heatmap; --image, --phrase, --boxes and --source are for boxes');
    const heatmapId = positiveInt(v.heatmap);
    if (heatmapId === null) return usage(`--heatmap "${v.heatmap}" is not a heatmap id (see \`sightline heatmaps list --image ID\`)`);
    const threshold = v.threshold === undefined ? undefined : Number(v.threshold);
    if (threshold !== undefined && (v.threshold!.trim() === '' || !Number.isFinite(threshold))) return usage(`--threshold "${v.threshold}" is not a number`);
    const objects = v.objects === undefined ? undefined : v.objects.split(',').map((o) => o.trim());
    if (objects && !objects.every((o) => ['seg', 'pmap', 'overlay'].includes(o))) return usage(`--objects "${v.objects}": a comma-separated list of seg, pmap and overlay`);
    request = { kind: 'heatmap', heatmapId, threshold, objects, out: v.out, ...deidentify };
  } else if (v.image !== undefined) {
    if (v.threshold !== undefined || v.objects !== undefined) return usage('--threshold and --objects are for --heatmap');
    if (!v.boxes) return usage('--image exports boxes: give --boxes (and --phrase TEXT)');
    const imageId = positiveInt(v.image);
    if (imageId === null) return usage(`--image "${v.image}" is not an image id (see \`sightline studies --json\`)`);
    if (!v.phrase?.trim()) return usage('give --phrase TEXT (the phrase whose boxes are exported)');
    if (v.source !== undefined && v.source !== 'dataset' && v.source !== 'user') return usage(`--source "${v.source}": dataset or user`);
    request = { kind: 'boxes', imageId, phrase: v.phrase, source: v.source, out: v.out, ...deidentify };
  } else return usage('give --heatmap ID, --image ID --phrase TEXT --boxes, or --study ID');

  const input = procedures['dicomExport.write'].input.safeParse(request);
  if (!input.success) return usage(input.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; '));
  return withRefusals(
    v['data-dir'],
    out,
    (message) => {
      out.error(`sightline export-dicom: ${message}`);
      return 1;
    },
    async (context) => {
      const result = await context.handlers['dicomExport.write'](input.data);
      if (v.json) out.log(JSON.stringify(result, null, 2));
      else {
        for (const f of result.files) out.log(`${f.object}\t${f.file}`);
        for (const w of result.warnings) out.error(`warning: ${w}`);
        out.log(`${result.files.length} DICOM file${result.files.length === 1 ? '' : 's'} written to ${v.out}${result.sourceIsDicom ? '' : ' (the image is not DICOM: a Secondary Capture of it first)'}`);
      }
      return 0;
    },
  );
}
