// The JSON transport: session cookie + the session's CSRF token on writes;
// an error answer becomes an ApiError carrying the server's error body
// (server/errors.go ErrorBody, or the conflict body of a stale version).
import type { ConflictBody, ErrorBody } from './api_types';

/** What an error answer held: the server's JSON error, other JSON or text, or nothing. */
export type ErrorPayload = ErrorBody | ConflictBody | string | null;

/** ApiError is an answer with a status of 400 or more. */
export class ApiError extends Error {
  constructor(public status: number, message: string, public body: ErrorPayload) { super(message); }

  /** code is the server's stable error code ('' when the body is not the server's error JSON). */
  get code(): string { return isErrorBody(this.body) ? this.body.error.code : ''; }

  /** conflict is the body of a 409 for a stale zone version, else null. */
  get conflict(): ConflictBody | null {
    const b = this.body;
    return this.status === 409 && isErrorBody(b) && 'current_version' in b && typeof b.current_version === 'number' && b.current_version > 0 ? b : null;
  }
}

function isErrorBody(b: unknown): b is ErrorBody {
  if (typeof b !== 'object' || b === null || !('error' in b)) return false;
  const e = (b as { error: unknown }).error;
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string';
}

let csrf = '';
export function setCSRF(token: string): void { csrf = token; }

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** request sends body as JSON and answers the parsed JSON as T (the caller names the server's type). */
export function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  return send<T>(method, path, body === undefined ? undefined : { type: 'application/json', text: JSON.stringify(body) });
}

/** upload sends text of a content type (a CSV list, GeoJSON) and answers the parsed JSON as T. */
export function upload<T>(method: Method, path: string, type: string, text: string): Promise<T> {
  return send<T>(method, path, { type, text });
}

async function send<T>(method: Method, path: string, body?: { type: string; text: string }): Promise<T> {
  const h: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) h['Content-Type'] = body.type;
  if (method !== 'GET' && csrf) h['X-CSRF-Token'] = csrf;
  const res = await fetch(path, { method, headers: h, body: body?.text, credentials: 'same-origin' });
  const text = await res.text();
  let data: unknown = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!res.ok) {
    const payload: ErrorPayload = isErrorBody(data) ? data : typeof data === 'string' ? data : null;
    const msg = isErrorBody(data) ? data.error.message : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, msg, payload);
  }
  return data as T;
}
