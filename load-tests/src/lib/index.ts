// The benchmark toolkit: load generation, process sampling and result reports, imported by the commands in load-tests/src.
export * from './load-generator';
export * from './process-stats';
export * from './report';
export * from './table';
export * from './bundle';
