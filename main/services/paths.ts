// Where the app's own files are: the repository (or the packaged app's resources) and its version.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The repository root, from the sources (main/services) and from the built bundle (out/main) alike. */
export const repoRoot = path.resolve(__dirname, '../..');

/** Demo studies: beside the app in a packaged build (resources/demo), in the repository otherwise. */
export function demoDirectory(): string {
  const packaged = (process as { resourcesPath?: string }).resourcesPath;
  if (packaged && existsSync(path.join(packaged, 'demo'))) return path.join(packaged, 'demo');
  return path.join(repoRoot, 'resources', 'demo');
}

/** The Python training packages (sightline_tune and what it imports): resources/training when packaged, else <repo>/training. */
export function trainingDirectory(): string {
  const packaged = (process as { resourcesPath?: string }).resourcesPath;
  if (packaged && existsSync(path.join(packaged, 'training'))) return path.join(packaged, 'training');
  return path.join(repoRoot, 'training');
}

export function appVersion(): string {
  return (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}
