export { InvalidDatabaseUrlError } from './invalid-database-url-error';
export { PostgresConnectionLostError } from './postgres-connection-lost-error';
export { PostgresSchemaTooNewError } from './postgres-schema-too-new-error';
export { PostgresUnavailableError } from './postgres-unavailable-error';
