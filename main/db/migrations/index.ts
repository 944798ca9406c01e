// Numbered, forward-only migrations. Append new ones; never edit or reorder an applied one.
import { sql as m0001 } from './0001_initial';
import { sql as m0002 } from './0002_jobs';
import { sql as m0003 } from './0003_model_checks';
import { sql as m0004 } from './0004_heatmaps';
import { sql as m0005 } from './0005_luts';
import { sql as m0006 } from './0006_dataset_labels';
import { sql as m0007 } from './0007_reader_studies';
import { sql as m0008 } from './0008_benchmark_runs';
import { sql as m0009 } from './0009_prompt_corrections';
import { sql as m0010 } from './0010_training';
import { sql as m0011 } from './0011_reader_packages';
import { sql as m0012 } from './0012_study_names';
import { sql as m0013 } from './0013_classification';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  { version: 1, name: 'initial', sql: m0001 },
  { version: 2, name: 'jobs', sql: m0002 },
  { version: 3, name: 'model_checks', sql: m0003 },
  { version: 4, name: 'heatmaps', sql: m0004 },
  { version: 5, name: 'luts', sql: m0005 },
  { version: 6, name: 'dataset_labels', sql: m0006 },
  { version: 7, name: 'reader_studies', sql: m0007 },
  { version: 8, name: 'benchmark_runs', sql: m0008 },
  { version: 9, name: 'prompt_corrections', sql: m0009 },
  { version: 10, name: 'training', sql: m0010 },
  { version: 11, name: 'reader_packages', sql: m0011 },
  { version: 12, name: 'study_names', sql: m0012 },
  { version: 13, name: 'classification', sql: m0013 },
];

export const LATEST_SCHEMA_VERSION = migrations[migrations.length - 1].version;
