export * from './featurizer';
export * from './jobs';
export * from './keys';
export * from './manifest';
export * from './metrics';
export * from './predict';
export * from './problem';
export * from './report';
