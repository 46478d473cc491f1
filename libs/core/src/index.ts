export * from './identifiers';
export * from './diagnosis-groups';
export * from './dates';
