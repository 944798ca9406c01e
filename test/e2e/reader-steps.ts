// Steps the reader-study browser specs share: waiting until `sightline serve` has imported its demo, storing two
// model variants' maps per (image, phrase) through the grounding domain's store (as a grounding run would), and a
// study over them made through the reader service.
import { procedures } from '../../common/contract';
import { openDatabase } from '../../main/db';
import { storeHeatmap } from '../../main/grounding/heatmap-store';
import { createReaderService } from '../../main/reader/service';

type Db = ReturnType<typeof openDatabase>;

/** Polls the data directory (2 minutes at most) until no job is queued or running and `query` gives `count` rows. */
export async function waitForDemo<T>(dataDir: string, count: number, query: (db: Db) => T[]): Promise<T[]> {
  for (let i = 0; i < 240; i++) {
    const db = openDatabase(dataDir);
    try {
      const running = db.prepare("SELECT count(*) AS n FROM jobs WHERE state IN ('queued', 'running')").get() as { n: number };
      const rows = query(db);
      if (running.n === 0 && rows.length === count) return rows;
    } finally {
      db.close();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the demo import did not finish');
}

/** The ids of the first `count` demo images, once the demo import is done. */
export function demoImageIds(dataDir: string, count: number): Promise<number[]> {
  return waitForDemo(dataDir, count, (db) => (db.prepare('SELECT id FROM images ORDER BY id LIMIT ?').all(count) as { id: number }[]).map((r) => r.id));
}

/** An 8x8 map of `model`'s variants 'frozen' and 'tuned' (different values) for each (image, phrase). */
export function storeVariantMaps(dataDir: string, pairs: { imageId: number; phrase: string }[], model: string, bundleHash: string): void {
  const db = openDatabase(dataDir);
  try {
    for (const { imageId, phrase } of pairs) {
      const image = db.prepare('SELECT rows, columns FROM images WHERE id = ?').get(imageId) as { rows: number; columns: number };
      const geometry = { originalRows: image.rows, originalColumns: image.columns, top: 0, left: 0, width: image.columns, height: image.rows };
      ['frozen', 'tuned'].forEach((variant, v) =>
        storeHeatmap(
          db,
          dataDir,
          { imageId, phrase, source: 'model', model, modelVersion: '1', bundleHash, variant, settingsKey: 'k', settings: {}, width: 8, height: 8, threshold: null, geometry, provenance: {} },
          Float32Array.from({ length: 64 }, (_, k) => ((k * (v + 1)) % 64) / 63),
        ),
      );
    }
  } finally {
    db.close();
  }
}

/** Optional parts of makeStudy's design: given cases (e.g. dataset phrases, which have boxes), showBoxes, practice. */
export interface StudyExtras {
  /** in place of one `${phrasePrefix} ${i}` case per image */
  cases?: { imageId: number; phrase: string }[];
  showBoxes?: boolean;
  /** practice cases; `arm` is 'frozen arm' or 'tuned arm' */
  practice?: { imageId: number; phrase: string; arm: string; expected?: number; showBoxes?: boolean; note?: string }[];
}

/**
 * A study of one case per image (phrase `${phrasePrefix} ${i}`, or `cases`) x 2 arms ('e2e-model' frozen / tuned,
 * maps stored first, practice cases' too); returns its id.
 */
export function makeStudy(dataDir: string, imageIds: number[], design: { name: string; seed: string; phrasePrefix: string; readers: string[] } & StudyExtras): number {
  const cases = design.cases ?? imageIds.map((imageId, i) => ({ imageId, phrase: `${design.phrasePrefix} ${i}` }));
  const practice = design.practice ?? [];
  storeVariantMaps(dataDir, [...cases, ...practice.map((p) => ({ imageId: p.imageId, phrase: p.phrase }))], 'e2e-model', 'e2e');
  const db = openDatabase(dataDir);
  try {
    const svc = createReaderService({ db, dataDir });
    const input = {
      design: {
        name: design.name,
        seed: design.seed,
        cases,
        arms: [
          { name: 'frozen arm', kind: 'model', model: 'e2e-model', variant: 'frozen' },
          { name: 'tuned arm', kind: 'model', model: 'e2e-model', variant: 'tuned' },
        ],
        readers: design.readers,
        ...(design.showBoxes !== undefined ? { showBoxes: design.showBoxes } : {}),
        ...(practice.length ? { practice } : {}),
      },
    };
    return (svc['reader.createStudy'](procedures['reader.createStudy'].input.parse(input)) as { id: number }).id;
  } finally {
    db.close();
  }
}
