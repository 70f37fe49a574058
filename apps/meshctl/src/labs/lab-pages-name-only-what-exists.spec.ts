import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { USAGE } from '../usage';
import { LABS } from './index';

// The lab pages are followed word for word in a workshop: every command, flag, lab, file and port they
// name must exist. Commands that change the mesh are not run here; the labs' own spec runs every lab.
const root = join(__dirname, '../../../..');
const LAB_DIR = join(root, 'docs/labs');
const pages = readdirSync(LAB_DIR).filter((f) => f.endsWith('.md'));
const read = (page: string) => readFileSync(join(LAB_DIR, page), 'utf8');
const scripts = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
const npmStartUsage = readFileSync(join(root, 'apps/local-mesh/src/main.ts'), 'utf8');
const LAB_COMMANDS = ['list', 'start', 'check', 'solve', 'reset'];

/** Command lines of the page's code blocks, comments and prompts stripped, continuation lines joined. */
function commandLines(text: string): string[] {
  const blocks = [...text.matchAll(/```(?:sh|bash|console)?\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks
    .flatMap((b) => b.replace(/\\\n\s*/g, ' ').split('\n'))
    .map((l) =>
      l
        .replace(/^\$ /, '')
        .replace(/\s+#.*$/, '')
        .trim(),
    )
    .filter((l) => l && !l.startsWith('#'));
}

/** What a page's `meshctl …` line asks for that meshctl does not have; [] when all of it exists. */
function meshctlProblems(line: string): string[] {
  const words = line.replace(/^npx /, '').split(/\s+/).slice(1);
  const problems: string[] = [];
  const flags = words.filter((w) => w.startsWith('--')).map((w) => w.split('=')[0]!);
  for (const f of flags) if (!new RegExp(`${f}\\b`).test(USAGE)) problems.push(`flag ${f} is not in meshctl's usage`);
  const positional = words.filter(
    (w, i) => !w.startsWith('-') && !['--control-plane', '--token', '--gateway', '-f', '--window', '--to'].includes(words[i - 1] ?? ''),
  );
  const [command, sub, ref] = positional;
  if (!command || !new RegExp(`meshctl ${command}\\b`).test(USAGE)) problems.push(`meshctl has no command "${command}"`);
  if (command === 'lab') {
    if (!LAB_COMMANDS.includes(sub ?? '')) problems.push(`meshctl lab has no "${sub}"`);
    if (['start', 'check', 'solve'].includes(sub ?? '') && !LABS.some((l) => l.id === ref))
      problems.push(`no lab "${ref}" (the labs: ${LABS.map((l) => l.id).join(', ')})`);
  }
  return problems;
}

/** Files of the repository a page names (in backticks or links), outside the data folder a lab writes. */
function namedFiles(page: string, text: string): string[] {
  const inTicks = [...text.matchAll(/`((?:apps|libs|deploy|docs|load-tests|tools)\/[A-Za-z0-9._/-]+)`/g)].map((m) => m[1]!);
  const links = [...text.matchAll(/\]\(([^)#:]+\.md)(?:#[^)]*)?\)/g)].map((m) => join('docs/labs', m[1]!));
  return [...inTicks, ...links].map((p) => p.replace(/[.,:;]$/, '')).filter((p) => !p.startsWith('.data') && p !== page);
}

/** Loopback ports npm start uses: control plane, gateway, gateway admin, and 3100 + 10n + 0…4 for instance n. */
const knownPort = (port: number) => [15010, 15012, 8080, 3109].includes(port) || (port > 3110 && port < 3300 && port % 10 <= 4);

describe('the lab pages', () => {
  it('exist for every lab, with its sections and its check command, and the README lists each', () => {
    const readme = read('README.md');
    for (const lab of LABS) {
      const page = `${lab.id}.md`;
      expect(pages, `docs/labs/${page}`).toContain(page);
      const text = read(page);
      for (const section of ['**Goal:**', '## The point', '## Steps', '## What to observe', '## Questions', '## Check'])
        expect(text, `${page}: ${section}`).toContain(section);
      expect(text, page).toContain(`npx meshctl lab check ${lab.id}`);
      expect(readme, `docs/labs/README.md links ${page}`).toContain(`(${page})`);
    }
  });

  it("are the dashboard's list too, every lab by its id and title", () => {
    const panel = readFileSync(join(root, 'apps/dashboard/src/panels/labs-panel.tsx'), 'utf8');
    const listed = [...panel.matchAll(/\{ id: '([^']+)', title: ('|")(.+?)\2 \}/g)].map((m) => ({ id: m[1], title: m[3] }));
    expect(listed).toEqual(LABS.map((l) => ({ id: l.id, title: l.title })));
  });

  for (const page of pages) {
    it(`${page} names only meshctl commands, flags and labs that exist`, () => {
      const problems = commandLines(read(page))
        .filter((l) => /^(npx )?meshctl /.test(l))
        .flatMap((l) => meshctlProblems(l).map((p) => `${l}: ${p}`));
      expect(problems).toEqual([]);
    });

    it(`${page} names only npm scripts, npm start flags, files and ports that exist`, () => {
      const text = read(page);
      const problems: string[] = [];
      for (const l of commandLines(text)) {
        const run = /^npm run ([\w:-]+)/.exec(l);
        if (run && !scripts.includes(run[1]!)) problems.push(`${l}: no npm script ${run[1]}`);
        if (/^npm start/.test(l))
          for (const f of l.split(/\s+/).filter((w) => w.startsWith('--') && w !== '--'))
            if (!npmStartUsage.includes(f)) problems.push(`${l}: npm start has no ${f}`);
      }
      for (const f of namedFiles(`docs/labs/${page}`, text)) if (!existsSync(join(root, f))) problems.push(`no file ${f}`);
      for (const m of text.matchAll(/127\.0\.0\.1:(\d+)/g)) if (!knownPort(Number(m[1]))) problems.push(`port ${m[1]} is not one npm start uses`);
      expect(problems).toEqual([]);
    });
  }

  it('are checked for real: a page naming a command, a lab or a file that does not exist is caught', () => {
    expect(meshctlProblems('npx meshctl lab check 99-no-such-lab')).toEqual([expect.stringContaining('no lab "99-no-such-lab"')]);
    expect(meshctlProblems('npx meshctl teleport')).toEqual(['meshctl has no command "teleport"']);
    expect(meshctlProblems('npx meshctl stat --windw 5')).toEqual(["flag --windw is not in meshctl's usage"]);
    expect(namedFiles('x', 'see `deploy/mesh/nope.yaml`').filter((f) => !existsSync(join(root, f)))).toEqual(['deploy/mesh/nope.yaml']);
    expect(knownPort(3153)).toBe(true);
    expect(knownPort(3157)).toBe(false);
  });
});
