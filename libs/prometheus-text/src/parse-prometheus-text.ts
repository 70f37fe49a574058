// Reads Prometheus's text exposition format (version 0.0.4, what prom-client and every MeshCart /metrics write) into samples.

export type Labels = Record<string, string>;

/** One sample line: `name{label="value",…} value [timestamp]`. */
export interface Sample {
  name: string;
  labels: Labels;
  value: number;
  /** Milliseconds since the epoch, when the line carries one (prom-client's never do). */
  timestampMs?: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A sample value or bucket bound as the format writes floats: decimals, `NaN`, `+Inf`, `-Inf`.
 * Undefined for anything else (Number() would read '' as 0 and '+Inf' as NaN).
 */
export function parsePrometheusFloat(text: string): number | undefined {
  if (DECIMAL.test(text)) return Number(text);
  if (/^nan$/i.test(text)) return NaN;
  const inf = /^([+-]?)inf(?:inity)?$/i.exec(text);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  return undefined;
}

/**
 * Every sample of an exposition, in order. Blank lines, `# HELP`, `# TYPE` and other comments are
 * skipped; a malformed sample line throws, naming its line, rather than silently dropping a figure.
 */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    samples.push(parseSampleLine(line, i + 1));
  }
  return samples;
}

function parseSampleLine(line: string, lineNo: number): Sample {
  const fail = (why: string): never => {
    throw new Error(`Prometheus text, line ${lineNo}: ${why} in: ${line}`);
  };
  const name = METRIC_NAME.exec(line)?.[0] ?? fail('no metric name');
  let at = name.length;
  const skipBlanks = () => {
    while (line[at] === ' ' || line[at] === '\t') at++;
  };
  function readLabelValue(): string {
    let value = '';
    for (;;) {
      const c = line[at++] ?? fail('unterminated label value');
      if (c === '"') return value;
      if (c !== '\\') {
        value += c;
        continue;
      }
      const escaped = line[at++];
      if (escaped === 'n') value += '\n';
      else if (escaped === '\\' || escaped === '"') value += escaped;
      else fail(`unknown escape \\${escaped ?? ''} in a label value`);
    }
  }

  const labels: Labels = {};
  skipBlanks();
  if (line[at] === '{') {
    at++;
    for (;;) {
      skipBlanks();
      // A trailing comma before '}' is allowed by the format.
      if (line[at] === '}') break;
      const label = LABEL_NAME.exec(line.slice(at))?.[0] ?? fail(`a label name expected at column ${at + 1}`);
      if (Object.hasOwn(labels, label)) fail(`label ${label} given twice`);
      at += label.length;
      skipBlanks();
      if (line[at++] !== '=') fail(`'=' expected after label ${label}`);
      skipBlanks();
      if (line[at++] !== '"') fail(`label ${label} has no quoted value`);
      labels[label] = readLabelValue();
      skipBlanks();
      if (line[at] === ',') at++;
      else if (line[at] !== '}') fail(`',' or '}' expected after label ${label}`);
    }
    at++;
  }

  const rest = line
    .slice(at)
    .trim()
    .split(/[ \t]+/);
  if (rest[0] === '' || rest.length > 2) fail('a value and an optional timestamp expected');
  const value = parsePrometheusFloat(rest[0]!) ?? fail(`"${rest[0]}" is not a number`);
  if (rest.length === 1) return { name, labels, value };
  if (!/^-?\d+$/.test(rest[1]!)) fail(`"${rest[1]}" is not a timestamp in milliseconds`);
  return { name, labels, value, timestampMs: Number(rest[1]) };
}

/** The samples named `name` whose labels include all of `labels` (others may differ). */
export function samplesOf(samples: Iterable<Sample>, name: string, labels: Labels = {}): Sample[] {
  const wanted = Object.entries(labels);
  const out: Sample[] = [];
  for (const s of samples) if (s.name === name && wanted.every(([k, v]) => s.labels[k] === v)) out.push(s);
  return out;
}
