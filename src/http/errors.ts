import { isAppError } from '../platform/index.ts';

/** What the API answers for an error: a status and a body with a stable code. */
export interface HttpError {
  status: number;
  code: string;
  message: string;
  details?: unknown;
  /** A server fault (log it as an error), not a refusal of the request. */
  fault?: boolean;
}

/** Fastify's own refusals of a request it cannot read, in the API's words. */
const FRAMEWORK: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'REQUEST_BODY_MALFORMED', message: 'the body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'REQUEST_BODY_MALFORMED', message: 'the body is empty but the content type says JSON: send a JSON body or no content type' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'REQUEST_MEDIA_TYPE_UNSUPPORTED', message: 'unsupported content type: send application/json (text/csv for file uploads)' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'REQUEST_BODY_MALFORMED', message: 'the body length does not match Content-Length' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'REQUEST_BODY_TOO_LARGE', message: 'the body is too large' },
  FST_ERR_BAD_URL: { status: 400, code: 'REQUEST_URL_INVALID', message: 'the URL is not validly encoded' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'REQUEST_URL_TOO_LONG', message: 'a path segment of the URL is too long' },
};

/**
 * PostgreSQL data exceptions (SQLSTATE class 22) raised by a value the caller sent: a number or a date
 * outside the column's range, a NUL character in text. The request is refused; nothing was stored.
 */
function dataException(sqlState: string, detail: string): HttpError {
  const message =
    sqlState === '22021' || sqlState === '22P05' ? 'text must not contain the NUL character (\\u0000)'
    : sqlState === '22003' ? `a number in the request is out of range (${detail})`
    : sqlState.startsWith('2200') ? `a date in the request is out of range (${detail})`
    : `a value in the request cannot be used (${detail})`;
  return { status: 400, code: 'REQUEST_VALUE_OUT_OF_RANGE', message };
}

const isDatabaseError = (e: unknown): e is { code: string; message: string; severity: string } =>
  typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
  && /^[0-9A-Z]{5}$/.test((e as { code: string }).code) && typeof (e as { severity?: unknown }).severity === 'string';

/** Maps any error thrown while serving a request to the answer; unknown errors are a 500 without details. */
export function toHttpError(err: unknown): HttpError {
  if (isAppError(err)) return { status: err.status, code: err.code, message: err.message, details: err.details };
  const e = err as { statusCode?: number; code?: string; validation?: unknown; message?: string };
  if (e.validation) return { status: 400, code: 'REQUEST_INVALID', message: e.message ?? 'the request is invalid' };
  const known = e.code ? FRAMEWORK[e.code] : undefined;
  if (known) return known;
  if (isDatabaseError(err) && err.code.startsWith('22')) return dataException(err.code, err.message);
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, code: e.code ?? 'REQUEST_REJECTED', message: e.message ?? 'the request was rejected' };
  }
  return { status: 500, code: 'INTERNAL', message: 'internal error; see the server log', fault: true };
}
