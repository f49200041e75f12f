export * from './featurizer';
export * from './jobs';
export * from './manifest';
export * from './metrics';
export * from './predict';
