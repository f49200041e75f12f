export * from './featurizer';
export * from './manifest';
export * from './metrics';
export * from './predict';
