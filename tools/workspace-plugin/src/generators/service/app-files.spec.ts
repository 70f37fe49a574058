// The generated service's files: where they go, that the name is substituted everywhere, and that they come out prettier-clean.
import { format, resolveConfig } from 'prettier';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { appFiles, contractsIndexLine, type GeneratedFile } from './app-files';
import { MAX_NAME_LENGTH, nameProblem, namesOf } from './names';

const review = () => appFiles(namesOf('review'), { port: 3005 });
const giftCard = () => appFiles(namesOf('gift-card'), { port: 3006 });
const file = (files: GeneratedFile[], path: string) => {
  const found = files.find((f) => f.path === path);
  if (!found) throw new Error(`no ${path} among ${files.map((f) => f.path).join(', ')}`);
  return found.content;
};

/** Allowed names at the edges: one letter, digits, many words, and the longest allowed. */
const LONGEST = 'abcdefghij-klmnopqrst-uvwxyz0123-456789a';
const EDGE_NAMES = ['a', 'review', 'gift-card', 'x2-y3', 'ab-cd-ef-gh-ij-kl-mn-op-qr-st-uv-wx-yz-0', LONGEST];

describe('appFiles', () => {
  it('writes the app, its specs and its contract, at workspace-relative paths', () => {
    expect(review().map((f) => f.path)).toEqual([
      'apps/review-service/project.json',
      'apps/review-service/tsconfig.json',
      'apps/review-service/vitest.config.ts',
      'apps/review-service/src/main.ts',
      'apps/review-service/src/app.ts',
      'apps/review-service/src/review-routes.ts',
      'apps/review-service/src/review-store.ts',
      'apps/review-service/src/product-lookup.ts',
      'apps/review-service/src/review-store.spec.ts',
      'apps/review-service/src/review-api.spec.ts',
      'apps/review-service/test/review-through-the-mesh.spec.ts',
      'libs/contracts/src/review.ts',
    ]);
  });

  it('makes project.json an Nx application tagged with its scope and type:app', () => {
    const project = JSON.parse(file(giftCard(), 'apps/gift-card-service/project.json')) as Record<string, unknown>;
    expect(project).toMatchObject({
      name: 'gift-card-service',
      sourceRoot: 'apps/gift-card-service/src',
      projectType: 'application',
      tags: ['scope:gift-card', 'type:app'],
    });
    expect(Object.keys(project['targets'] as object).sort()).toEqual(['lint', 'test', 'typecheck']);
    expect(JSON.parse(file(giftCard(), 'apps/gift-card-service/tsconfig.json'))).toMatchObject({ extends: '../../tsconfig.base.json' });
  });

  it('starts main on the given port under the service name', () => {
    expect(file(giftCard(), 'apps/gift-card-service/src/main.ts')).toContain("readServiceEnv('gift-card-service', 3006)");
    expect(file(review(), 'apps/review-service/src/main.ts')).toContain("readServiceEnv('review-service', 3005)");
  });

  it('names types, codes, table, paths and the gateway path after the service', () => {
    const files = giftCard();
    const contract = file(files, 'libs/contracts/src/gift-card.ts');
    for (const name of ['GiftCardItem', 'GiftCardItemList', 'CreateGiftCardItemBody', 'GiftCardItemParams', 'GiftCardItemListQuery']) {
      expect(contract).toContain(`export const ${name} = `);
      expect(contract).toContain(`export type ${name} = Static<typeof ${name}>;`);
    }
    expect(contract).toContain("export const GIFT_CARD_ITEM_NOT_FOUND = 'GIFT_CARD_ITEM_NOT_FOUND';");
    expect(contract).toContain("export const GIFT_CARD_DEPENDENCY_UNAVAILABLE = 'GIFT_CARD_DEPENDENCY_UNAVAILABLE';");
    expect(file(files, 'apps/gift-card-service/src/gift-card-store.ts')).toContain('CREATE TABLE gift_card_items (');
    const routes = file(files, 'apps/gift-card-service/src/gift-card-routes.ts');
    expect(routes).toContain('export const giftCardRoutes');
    expect(routes).toContain("'/gift-card/:id'");
    expect(file(files, 'apps/gift-card-service/test/gift-card-through-the-mesh.spec.ts')).toContain("'/api/gift-card'");
  });

  it('leaves nothing of another name, and no unfilled placeholder', () => {
    for (const [files, other] of [
      [giftCard(), /review/i],
      [review(), /gift|card/i],
    ] as const) {
      for (const f of files) {
        expect(f.path).not.toMatch(other);
        expect(f.content, f.path).not.toMatch(other);
        // A field that was not filled in shows up glued to the text around it: `undefinedItem`, `undefined-service`.
        expect(f.content, f.path).not.toMatch(/\bundefined[A-Za-z_-]|[A-Za-z_-]undefined\b|\[object Object\]|\bNaN\b/);
      }
    }
  });

  it('starts every TypeScript file with a one-line comment saying what it is', () => {
    for (const f of giftCard().filter((g) => g.path.endsWith('.ts'))) {
      expect(f.content.split('\n')[0], f.path).toMatch(/^\/\/ \S.{20,}$/);
    }
  });

  it('writes each path once, each under the app folder or as the contract', () => {
    const n = namesOf('gift-card');
    const paths = giftCard().map((f) => f.path);
    expect(new Set(paths).size).toBe(paths.length);
    for (const path of paths) expect(path === n.contractFile || path.startsWith(`${n.dir}/`), path).toBe(true);
  });

  it('is prettier-clean as written, for short, long and many-word names', async () => {
    const root = fileURLToPath(new URL('../../../../../', import.meta.url));
    const config = await resolveConfig(`${root}apps/any.ts`);
    expect(config).toMatchObject({ printWidth: 150, singleQuote: true });
    expect(LONGEST).toHaveLength(MAX_NAME_LENGTH);
    for (const name of EDGE_NAMES) {
      expect(nameProblem(name), name).toBeUndefined();
      for (const f of appFiles(namesOf(name), { port: 3999 })) {
        const formatted = await format(f.content, { ...config, filepath: `${root}${f.path}` });
        expect(f.content, f.path).toBe(formatted);
      }
    }
  });
});

describe('contractsIndexLine', () => {
  it('re-exports the contract from @meshcart/contracts', () => {
    expect(contractsIndexLine(namesOf('gift-card'))).toBe("export * from './gift-card';");
  });
});
