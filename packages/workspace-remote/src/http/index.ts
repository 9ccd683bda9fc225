export { errorFromResponse } from './error-from-response';
export { API_KEY_HEADER, HttpClient, parseHost } from './http-client';
export type { HttpClientOptions, HttpRequest } from './http-client';
export { multipartStream } from './multipart-stream';
export type { MultipartPart } from './multipart-stream';
