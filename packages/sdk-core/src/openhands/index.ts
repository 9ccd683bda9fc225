export { exportOpenHandsConversation } from './export-openhands';
export type { ExportOpenHandsOptions, ExportOpenHandsResult } from './export-openhands';
export { importOpenHandsConversation } from './import-openhands';
export type { ImportOpenHandsOptions, ImportOpenHandsResult } from './import-openhands';
export type { OpenHandsTransferProgress } from './transfer-support';
export { FERRY_TELEPORT_KEY, toOpenHandsEvent } from './to-openhands-event';
export type { OpenHandsEventConversion } from './to-openhands-event';
export { openHandsEventFields, openHandsStateFields } from './openhands-fields';
export { openHandsEventFileName, parseOpenHandsEventFileName } from './openhands-layout';
