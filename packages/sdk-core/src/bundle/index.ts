export {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  DELTA_BUNDLE_VERSION,
  bundleBaseRefSchema,
  bundleFileSchema,
  bundleManifestSchema,
  parseBundleManifest,
} from './bundle-manifest';
export type { BundleBaseRef, BundleFile, BundleManifest, BundleProgress } from './bundle-manifest';
export { bundleBaseSchema, readBundleBase } from './bundle-base';
export type { BundleBase, ReadBundleBaseOptions } from './bundle-base';
export {
  DEFAULT_MAX_WORKSPACE_BYTES,
  exportConversationBundle,
  writeConversationBundle,
} from './export-bundle';
export type { ExportBundleOptions, ExportedBundle } from './export-bundle';
export {
  DEFAULT_MAX_BUNDLE_BYTES,
  DEFAULT_MAX_BUNDLE_ENTRIES,
  importConversationBundle,
  openBundle,
  readBundleManifest,
} from './import-bundle';
export type {
  BundleReadLimits,
  BundleSource,
  ImportBundleOptions,
  ImportBundleResult,
  OpenedBundle,
} from './import-bundle';
export { listWorkspaceFiles } from './workspace-files';
export type { WorkspaceFile } from './workspace-files';
