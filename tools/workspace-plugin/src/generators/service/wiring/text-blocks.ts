// Line-level edits of hand-laid-out YAML and config files: new lines go where a person would put them, and
// every other byte (comments, alignment, flow style) stays as it was.

export class WiringError extends Error {
  readonly code = 'WIRING_FAILED';
  constructor(file: string, message: string) {
    super(`${file}: ${message}; add the new service there by hand (docs/adding-a-service.md lists what goes where)`);
  }
}

const indentOf = (line: string) => line.length - line.trimStart().length;
const blank = (line: string) => line.trim() === '';
const comment = (line: string) => line.trimStart().startsWith('#') || line.trimStart().startsWith('//');

/** Index of the first line at or after `from` that matches, or -1. */
export function findLine(lines: string[], pattern: RegExp, from = 0): number {
  for (let i = from; i < lines.length; i++) if (pattern.test(lines[i]!)) return i;
  return -1;
}

/**
 * Where a block that starts at `header` ends: before the first later line indented no deeper than
 * the header, less the blank lines and comments just above it (they belong to what follows).
 */
export function endOfBlock(lines: string[], header: number): number {
  const depth = indentOf(lines[header]!);
  let end = lines.length;
  for (let i = header + 1; i < lines.length; i++) {
    if (!blank(lines[i]!) && indentOf(lines[i]!) <= depth) {
      end = i;
      break;
    }
  }
  while (end > header + 1 && (blank(lines[end - 1]!) || (comment(lines[end - 1]!) && indentOf(lines[end - 1]!) <= depth))) end--;
  return end;
}

/** Inserts `added` at the end of the block whose header is the first line matching `header` (after `from`). */
export function appendToBlock(file: string, text: string, header: RegExp, added: string[], from?: RegExp): string {
  const lines = text.split('\n');
  const start = from ? findLine(lines, from) : 0;
  if (start < 0) throw new WiringError(file, `no line matching ${from}`);
  const at = findLine(lines, header, start);
  if (at < 0) throw new WiringError(file, `no line matching ${header}${from ? ` after ${from}` : ''}`);
  lines.splice(endOfBlock(lines, at), 0, ...added);
  return lines.join('\n');
}

/** Inserts `added` just before the first line matching `before`, above any comments and blank lines that lead into it. */
export function insertBefore(file: string, text: string, before: RegExp, added: string[]): string {
  const lines = text.split('\n');
  let at = findLine(lines, before);
  if (at < 0) throw new WiringError(file, `no line matching ${before}`);
  while (at > 0 && comment(lines[at - 1]!)) at--;
  lines.splice(at, 0, ...added);
  return lines.join('\n');
}

/** Inserts `added` just after the last line matching `after`. */
export function insertAfterLast(file: string, text: string, after: RegExp, added: string[]): string {
  const lines = text.split('\n');
  let at = -1;
  lines.forEach((l, i) => {
    if (after.test(l)) at = i;
  });
  if (at < 0) throw new WiringError(file, `no line matching ${after}`);
  lines.splice(at + 1, 0, ...added);
  return lines.join('\n');
}

/** Adds `item` to the one-line flow sequence on the line matching `line` (`calls: [a, b]` → `calls: [a, b, item]`). */
export function addToFlowList(file: string, text: string, line: RegExp, item: string, from?: RegExp): string {
  const lines = text.split('\n');
  const start = from ? findLine(lines, from) : 0;
  const at = start < 0 ? -1 : findLine(lines, line, start);
  if (at < 0) throw new WiringError(file, `no line matching ${line}${from ? ` after ${from}` : ''}`);
  const m = /^(.*\[)([^\]]*)(\].*)$/.exec(lines[at]!);
  if (!m) throw new WiringError(file, `line ${at + 1} is not a one-line [list]`);
  const items = m[2]!
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  lines[at] = `${m[1]}${[...items, item].join(', ')}${m[3]}`;
  return lines.join('\n');
}
