export { teleport } from './teleport';
export type { LocalDestination, TeleportOptions, TeleportProgress } from './teleport';
