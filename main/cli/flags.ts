// What every `sightline <command>` accepts, read from the command's usage text (the one place its flags are written
// for people): `--help` for the command alone, and a check of the flags before the command parses them, so that
// an unknown flag or a missing value is named with the valid flags instead of Node's parser message.
import type { Command } from './shared';

export interface Flag {
  name: string;
  /** the value's placeholder in the usage (`D`, `NAME`, `<folder>`), or null for a switch */
  value: string | null;
}

// In a usage, synopsis lines are indented less than the description column (30): there a flag followed by a word
// that is no bracket, bar or flag takes a value (`--data-dir D`, `--format long|imrmc`, `--out r.json`, `--seed 0`).
const DESCRIPTION_COLUMN = 30;
const FLAG_RE = /--([a-z][a-z0-9-]*)(?:[ =]([^\s[\]()|-][^\s\])]*))?/g;

/** The flags a command's usage lists, in order of first mention, plus --help. */
export function flagsOf(command: Command): Flag[] {
  const seen = new Map<string, Flag>();
  for (const line of command.usage.split('\n')) {
    const indent = /^ */.exec(line)![0].length;
    const synopsis = indent < DESCRIPTION_COLUMN;
    for (const m of line.matchAll(FLAG_RE)) {
      const value = synopsis ? (m[2] ?? null) : null;
      const prior = seen.get(m[1]);
      if (!prior) seen.set(m[1], { name: m[1], value });
      else if (!prior.value && value) prior.value = value;
    }
  }
  seen.set('help', { name: 'help', value: null });
  return [...seen.values()];
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length];
}

const spell = (f: Flag) => (f.value ? `--${f.name} ${f.value}` : `--${f.name}`);

/**
 * The problem with `args` for `command`, or null: a flag its usage does not list (with the closest one when it is
 * a likely typo, and every valid flag), a short option other than -h, or a flag that takes a value given none.
 */
export function checkFlags(command: Command, args: readonly string[]): string | null {
  const flags = flagsOf(command);
  const valid = `valid options: ${flags.map(spell).join(', ')}`;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break; // the rest is positional
    if (/^-[A-Za-z]/.test(a) && a !== '-h') return `unknown option ${a}\n${valid}`;
    if (!a.startsWith('--') || a === '--') continue;
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
    const flag = flags.find((f) => f.name === name);
    if (!flag) {
      const near = flags.map((f) => [f, distance(name, f.name)] as const).sort((x, y) => x[1] - y[1])[0];
      const hint = near && near[1] <= (name.length >= 5 ? 2 : 1) ? ` (did you mean --${near[0].name}?)` : '';
      return `unknown option --${name}${hint}\n${valid}`;
    }
    if (flag.value && inline === undefined) {
      const next = args[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) return `--${name} needs a value (${spell(flag)})\n${valid}`;
      i++;
    }
  }
  return null;
}
