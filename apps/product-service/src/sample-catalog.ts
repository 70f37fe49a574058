// The deterministic sample catalog product-service seeds on first start: the same products on every machine.
import type { Product } from '@meshcart/contracts';

const CATEGORIES: ReadonlyArray<{ category: string; nouns: readonly string[]; audience: string }> = [
  { category: 'Kitchen', nouns: ['Kettle', 'Skillet', 'Knife Set', 'Cutting Board'], audience: 'home cooks' },
  { category: 'Outdoor', nouns: ['Tent', 'Backpack', 'Lantern', 'Hammock'], audience: 'weekend campers' },
  { category: 'Office', nouns: ['Desk Lamp', 'Notebook', 'Chair', 'Monitor Stand'], audience: 'long working days' },
  { category: 'Audio', nouns: ['Headphones', 'Speaker', 'Turntable', 'Microphone'], audience: 'music lovers' },
  { category: 'Fitness', nouns: ['Yoga Mat', 'Kettlebell', 'Jump Rope', 'Water Bottle'], audience: 'daily training' },
  { category: 'Home', nouns: ['Blanket', 'Candle', 'Vase', 'Throw Pillow'], audience: 'cosy evenings' },
];

const ADJECTIVES: ReadonlyArray<{ adjective: string; phrase: string; priceFactor: number }> = [
  { adjective: 'Classic', phrase: 'A timeless', priceFactor: 1 },
  { adjective: 'Compact', phrase: 'A space-saving', priceFactor: 0.8 },
  { adjective: 'Deluxe', phrase: 'A premium', priceFactor: 1.6 },
];

/** 72 products, `p-001` … `p-072`, prices 7.99–300ish and stock 20–200, varied but fixed. */
export function sampleCatalog(): Product[] {
  const products: Product[] = [];
  for (const { category, nouns, audience } of CATEGORIES) {
    for (const noun of nouns) {
      for (const { adjective, phrase, priceFactor } of ADJECTIVES) {
        const i = products.length;
        const basePrice = 1_000 + ((i * 7_349) % 18_000);
        products.push({
          id: `p-${String(i + 1).padStart(3, '0')}`,
          name: `${adjective} ${noun}`,
          description: `${phrase} ${noun.toLowerCase()} for ${audience}.`,
          category,
          // Prices end in .99 like a real shop's.
          priceCents: Math.floor((basePrice * priceFactor) / 100) * 100 - 1,
          stock: 20 + ((i * 53) % 181),
        });
      }
    }
  }
  return products;
}
