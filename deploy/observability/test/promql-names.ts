// Reads the names in a PromQL expression (metrics, their matchers' labels, grouping labels), enough to
// check a dashboard against the metric catalogue without a full PromQL parser.

export interface PromqlSelector {
  metric: string;
  /** Label names this selector's own matchers use. */
  matchers: string[];
}

export interface PromqlNames {
  selectors: PromqlSelector[];
  /** Labels named in by / without / on / ignoring / group_left / group_right lists. */
  groupingLabels: string[];
}

const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set([...GROUPING, 'bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan']);
const MATCH_OPS = new Set(['=', '!=', '=~', '!~']);
const TOKEN = /\s+|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|[0-9.][\w.]*|[A-Za-z_:][\w:]*|=~|!~|!=|==|>=|<=|[{}()[\],=<>+\-*/%^@:]/y;

function tokenize(expr: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expr.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(expr);
    if (!m) throw new Error(`unexpected character at ${at} in PromQL: ${expr}`);
    if (!/^\s/.test(m[0])) tokens.push(m[0]);
  }
  return tokens;
}

const isIdent = (t: string | undefined) => t !== undefined && /^[A-Za-z_:]/.test(t);

/** Grafana's variables replaced by values PromQL accepts, so an expression can be read and checked. */
export function withGrafanaVariablesFilledIn(expr: string): string {
  return expr.replace(/\$__\w+|\$\{__\w+\}/g, '1m').replace(/\$\{\w+(?::\w+)?\}|\$\w+/g, '.*');
}

export function promqlNames(expr: string): PromqlNames {
  const tokens = tokenize(expr);
  const selectors: PromqlSelector[] = [];
  const groupingLabels: string[] = [];
  const parens: Array<'group' | 'other'> = [];
  let nextParenGroups = false;
  let inBraces: PromqlSelector | undefined;
  let lastMetric: PromqlSelector | undefined;
  tokens.forEach((t, i) => {
    const next = tokens[i + 1];
    if (inBraces) {
      if (t === '}') inBraces = undefined;
      else if (isIdent(t) && MATCH_OPS.has(next ?? '')) inBraces.matchers.push(t);
      return;
    }
    if (t === '{') {
      // A selector's braces follow its metric name directly; bare braces select by labels alone.
      inBraces = lastMetric && tokens[i - 1] === lastMetric.metric ? lastMetric : { metric: '', matchers: [] };
      if (inBraces.metric === '') selectors.push(inBraces);
      return;
    }
    if (t === '(') {
      parens.push(nextParenGroups ? 'group' : 'other');
      nextParenGroups = false;
      return;
    }
    if (t === ')') {
      parens.pop();
      return;
    }
    if (!isIdent(t)) return;
    if (parens.at(-1) === 'group') {
      groupingLabels.push(t);
    } else if (GROUPING.has(t)) {
      nextParenGroups = next === '(';
    } else if (KEYWORDS.has(t) || next === '(' || next === 'by' || next === 'without') {
      // An operator keyword, a function being called, or an aggregation (its grouping may come first).
    } else {
      lastMetric = { metric: t, matchers: [] };
      selectors.push(lastMetric);
    }
  });
  return { selectors, groupingLabels };
}
