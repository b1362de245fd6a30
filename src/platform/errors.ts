import { isIsoDate } from './clock.ts';

/** An error a user can act on: a stable code, a message, and the HTTP status it maps to. */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (code: string, message: string) => new AppError(code, message, 404);
export const forbidden = (message = 'not allowed for your role or org scope') =>
  new AppError('AUTH_FORBIDDEN', message, 403);
export const conflict = (code: string, message: string) => new AppError(code, message, 409);

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/**
 * `value` if it is a calendar date YYYY-MM-DD (isIsoDate), else an AppError with the caller's
 * stable code naming the field: every date a request, a command or a file gives goes through here.
 */
export function requireIsoDate(code: string, name: string, value: string): string {
  if (!isIsoDate(value)) throw new AppError(code, `${name} must be a date YYYY-MM-DD, got '${value}'`);
  return value;
}
