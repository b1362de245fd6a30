/**
 * Every malformed input the codecs meet ends in a ProtocolError, so a caller reading a socket can
 * catch one class, log the stable `code` and drop the frame without guessing what else may throw.
 */
export type ProtocolErrorCode =
  | 'BCD_INVALID'
  | 'BCD_OUT_OF_RANGE'
  | 'TIME_INVALID'
  | 'DLT645_TRUNCATED'
  | 'DLT645_BAD_START'
  | 'DLT645_BAD_END'
  | 'DLT645_BAD_LENGTH'
  | 'DLT645_BAD_CHECKSUM'
  | 'DLT645_IS_DLT698'
  | 'DLT645_BAD_ADDRESS'
  | 'DLT645_BAD_DI'
  | 'DLT645_BAD_DATA'
  | 'DLT645_BAD_VALUE'
  | 'DLT698_TRUNCATED'
  | 'DLT698_BAD_START'
  | 'DLT698_BAD_END'
  | 'DLT698_BAD_LENGTH'
  | 'DLT698_BAD_HCS'
  | 'DLT698_BAD_FCS'
  | 'GDW1376_TRUNCATED'
  | 'GDW1376_BAD_START'
  | 'GDW1376_BAD_END'
  | 'GDW1376_BAD_LENGTH'
  | 'GDW1376_BAD_CHECKSUM'
  | 'GDW1376_BAD_ADDRESS'
  | 'GDW1376_BAD_DATA_UNIT_ID'
  | 'GDW1376_BAD_DATA';

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

export function isProtocolError(error: unknown): error is ProtocolError {
  return error instanceof ProtocolError;
}
