// The LUT's 13 anatomical regions and how the location vocabulary (method.md 4.1) maps onto them (4.2), exactly as
// training/sightline_eval/lut.py: same names, same order (the order of a LUT's regions and of nearest-region ties).

export const REGIONS = [
  'right lung',
  'right apical zone',
  'right upper lung zone',
  'right mid lung zone',
  'right lower lung zone',
  'right costophrenic angle',
  'left lung',
  'left apical zone',
  'left upper lung zone',
  'left mid lung zone',
  'left lower lung zone',
  'left costophrenic angle',
  'cardiac silhouette',
] as const;
export type Region = (typeof REGIONS)[number];

const REGION_SET: ReadonlySet<string> = new Set(REGIONS);
export function isRegion(name: string): name is Region {
  return REGION_SET.has(name);
}

const SIDES = new Set(['left', 'right', 'bilateral']);
export const ZONE_TO_REGION: Readonly<Record<string, string>> = {
  '': 'lung',
  apical: 'apical zone',
  upper: 'upper lung zone',
  middle: 'mid lung zone',
  lower: 'lower lung zone',
  costophrenic: 'costophrenic angle',
  pleural: 'lower lung zone',
  base: 'lower lung zone',
};

/** region -> the location term synthetic prompts use for it (VinDr, method.md 5.2). */
export const REGION_TO_LOCATION: Readonly<Record<Region, string>> = (() => {
  const out: Record<string, string> = { 'cardiac silhouette': 'cardiomegaly' };
  for (const side of ['left', 'right']) {
    for (const zone of ['', 'apical', 'upper', 'middle', 'lower', 'costophrenic']) out[`${side} ${ZONE_TO_REGION[zone]}`] = `${side} ${zone}`.trim();
  }
  return out as Record<Region, string>;
})();

export class UnknownLocationError extends Error {}

/** A vocabulary location (several joined with " and ") -> its regions, ordered, each once. */
export function locationRegions(location: string): Region[] {
  const regions: string[] = [];
  for (const raw of location.split(' and ')) {
    const part = raw.trim();
    if (!part) continue;
    if (part === 'cardiomegaly') regions.push('cardiac silhouette');
    else if (part === 'pulmonary') regions.push('right lung', 'left lung');
    else if (part === 'lingular') regions.push('left mid lung zone');
    else if (part === 'bibasilar') regions.push('right lower lung zone', 'left lower lung zone');
    else {
      const space = part.indexOf(' ');
      const side = space < 0 ? part : part.slice(0, space);
      const zone = space < 0 ? '' : part.slice(space + 1).trim();
      if (!SIDES.has(side) || !(zone in ZONE_TO_REGION)) throw new UnknownLocationError(`unknown location "${part}"`);
      for (const s of side === 'bilateral' ? ['right', 'left'] : [side]) regions.push(`${s} ${ZONE_TO_REGION[zone]}`);
    }
  }
  return [...new Set(regions)] as Region[];
}
