// Folders and files of model bundles, by stat, following links.
import { readdirSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';

/** The folders of a models directory that may hold a bundle (hidden ones, e.g. an add in progress, are not). */
export function bundleFolders(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names.filter((n) => !n.startsWith('.') && statFile(path.join(root, n), true) !== null).sort();
}

/** A regular file's (or, with `dir`, a folder's) stats, following links; null when there is none. */
export function statFile(p: string, dir = false): Stats | null {
  try {
    const st = statSync(p);
    return (dir ? st.isDirectory() : st.isFile()) ? st : null;
  } catch {
    return null;
  }
}
