// Public API of the contracts: request/response schemas of every service, one source for both sides.
export * from './common';
export * from './user';
export * from './product';
export * from './payment';
export * from './order';
