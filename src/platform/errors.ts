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
