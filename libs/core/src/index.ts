export * from './identifiers';
export * from './diagnosis-groups';
export * from './dates';
export * from './waiting.types';
export * from './norms';
export * from './policy';
export * from './evaluation';
