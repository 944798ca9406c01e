// The analysis as plain-text tables for `sightline study analyse` (tab-separated columns, so that they paste into a
// spreadsheet; "-" where a statistic is undefined).
import type { Analysis } from './report';

const f = (x: number | null, digits = 3) => (x === null ? '-' : x.toFixed(digits));
const p = (x: number | null) => (x === null ? '-' : x < 0.001 ? '<0.001' : x.toFixed(3));
const who = (x: string | null, all: string) => x ?? all;
const table = (header: string[], rows: string[][]) => [header, ...rows].map((r) => r.join('\t')).join('\n');

export function analysisTables(a: Analysis): string {
  const out: string[] = [];
  out.push(`reader study ${a.study.id} "${a.study.name}" v${a.study.version}: question "${a.question.key}" (${a.question.kind} ${a.question.min}-${a.question.max}), ${a.cases} cases x ${a.arms.length} arms, ${a.readers.length} readers; metrics ${a.metricsSource}`);
  for (const w of a.warnings) out.push(`warning: ${w}`);
  out.push('', '## Scores per reader and arm');
  const dist = a.question.kind === 'scale' ? [`distribution ${a.question.min}..${a.question.max}`] : [];
  out.push(
    table(
      ['arm', 'reader', 'n', 'mean', 'sd', 'median', 'q1', 'q3', ...dist],
      a.scores.map((s) => [s.arm, who(s.reader, 'all'), String(s.n), f(s.mean, 2), f(s.sd, 2), f(s.median, 1), f(s.q1, 1), f(s.q3, 1), ...(dist.length ? [s.distribution.map((d) => d.count).join(' ')] : [])]),
    ),
  );
  out.push('', "## Spearman: score vs metric (reader 'mean': the readers' mean per case x arm; CI: Fisher z, Bonett-Wright SE)");
  out.push(
    table(
      ['metric', 'arm', 'reader', 'n', 'rho', 'p', '95% CI'],
      a.correlations.map((c) => [c.metric, who(c.arm, 'all'), who(c.reader, 'mean'), String(c.n), f(c.rho), p(c.p), c.ciLow === null ? '-' : `${f(c.ciLow)} .. ${f(c.ciHigh)}`]),
    ),
  );
  if (a.deltas.length) {
    out.push('', '## Paired deltas per case (arm B - arm A, readers\' mean), and their rho with the metric deltas');
    out.push(
      table(
        ['arm A', 'arm B', 'n', 'mean', 'sd', '95% CI', 'rho dCNR', 'p', 'rho dmIoU', 'p'],
        a.deltas.map((d) => [d.armA, d.armB, String(d.n), f(d.mean, 2), f(d.sd, 2), d.ciLow === null ? '-' : `${f(d.ciLow, 2)} .. ${f(d.ciHigh, 2)}`, f(d.vsCnr.rho), p(d.vsCnr.p), f(d.vsMiou.rho), p(d.vsMiou.p)]),
      ),
    );
  }
  out.push('', '## Agreement between readers (units: case x arm)');
  out.push(
    table(
      ['arm', 'units', 'alpha ordinal', 'alpha interval', 'alpha nominal', 'ICC(2,1)', 'ICC(3,1)', 'ICC units'],
      a.agreement.map((g) => [who(g.arm, 'all'), String(g.units), f(g.alphaOrdinal), f(g.alphaInterval), f(g.alphaNominal), f(g.icc?.icc21 ?? null), f(g.icc?.icc31 ?? null), String(g.icc?.targets ?? 0)]),
    ),
  );
  const pooled = a.agreement.find((g) => g.arm === null);
  if (pooled?.kappas.length) {
    out.push('', '## Weighted kappa per reader pair (all arms)');
    out.push(table(['reader A', 'reader B', 'n', 'linear', 'quadratic'], pooled.kappas.map((k) => [k.readerA, k.readerB, String(k.n), f(k.linear), f(k.quadratic)])));
  }
  out.push('', '## Reading time (active seconds per answered item)');
  out.push(
    table(
      ['arm', 'reader', 'n', 'mean', 'median', 'q1', 'q3', 'total min'],
      a.times.map((t) => [who(t.arm, 'all'), who(t.reader, 'all'), String(t.n), f(t.mean && t.mean / 1000, 1), f(t.median && t.median / 1000, 1), f(t.q1 && t.q1 / 1000, 1), f(t.q3 && t.q3 / 1000, 1), (t.totalMs / 60000).toFixed(1)]),
    ),
  );
  return out.join('\n');
}
