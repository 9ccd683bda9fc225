export {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  bundleFileSchema,
  bundleManifestSchema,
  parseBundleManifest,
} from './bundle-manifest';
export type { BundleFile, BundleManifest, BundleProgress } from './bundle-manifest';
export {
  DEFAULT_MAX_WORKSPACE_BYTES,
  exportConversationBundle,
  writeConversationBundle,
} from './export-bundle';
export type { ExportBundleOptions } from './export-bundle';
export {
  DEFAULT_MAX_BUNDLE_BYTES,
  DEFAULT_MAX_BUNDLE_ENTRIES,
  importConversationBundle,
  readBundleManifest,
} from './import-bundle';
export type {
  BundleReadLimits,
  BundleSource,
  ImportBundleOptions,
  ImportBundleResult,
} from './import-bundle';
export { listWorkspaceFiles } from './workspace-files';
export type { WorkspaceFile } from './workspace-files';
