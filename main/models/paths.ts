// Where model bundles live: the shipped ones beside the app (`resources/models` in a packaged build, `<repo>/models`
// otherwise, as main/services/paths.ts finds the demo studies) and the user's under the data directory.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../services/paths';

export function shippedModelsDirectory(): string {
  const packaged = (process as { resourcesPath?: string }).resourcesPath;
  if (packaged && existsSync(path.join(packaged, 'models'))) return path.join(packaged, 'models');
  return path.join(repoRoot, 'models');
}

export function userModelsDirectory(dataDir: string): string {
  return path.join(dataDir, 'models');
}
