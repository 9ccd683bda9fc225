export { FerryError, isFerryErrorNamed } from './ferry-error';
export type { FerryErrorJSON, FerryErrorOptions } from './ferry-error';
