/**
 * Meter and concentrator protocol codecs: DL/T 645-2007 (meter), Q/GDW 1376.1 (concentrator ↔
 * master station) and DL/T 698.45 header recognition. Pure functions over bytes: no I/O, no clock.
 */
export { ProtocolError, isProtocolError, type ProtocolErrorCode } from './errors.ts';
export {
  decodeBcdDecimal,
  encodeBcdDecimal,
  fromHex,
  parseBcdFormat,
  sum8,
  toHex,
  type BcdFormat,
} from './bcd.ts';
export {
  decodeDate,
  decodeMinuteTime,
  decodeMonth,
  decodeSecondTime,
  encodeDate,
  encodeMinuteTime,
  encodeMonth,
  encodeSecondTime,
  type DayTime,
} from './calendar.ts';
export {
  decodeDlt645Control,
  decodeDlt645Frame,
  DLT645_MAX_DATA_LENGTH,
  Dlt645Function,
  encodeDlt645Control,
  encodeDlt645Frame,
  normaliseDlt645Address,
  scanDlt645Frames,
  type Dlt645Control,
  type Dlt645Frame,
  type Dlt645FrameInput,
  type Dlt645ScanResult,
} from './dlt645.ts';
export {
  decodeDlt645Value,
  diFromWire,
  diToWire,
  Dlt645Di,
  encodeDlt645Value,
  normaliseDi,
  TARIFF_NAMES,
  type Dlt645Quantity,
  type Dlt645Value,
} from './dlt645-values.ts';
export {
  decodeDlt645Message,
  DLT645_ERROR_FLAGS,
  encodeDlt645ErrorReply,
  encodeDlt645ReadAddressReply,
  encodeDlt645ReadAddressRequest,
  encodeDlt645ReadFollowUpReply,
  encodeDlt645ReadFollowUpRequest,
  encodeDlt645ReadReply,
  encodeDlt645ReadRequest,
  encodeDlt645RelayControl,
  encodeDlt645RelayControlReply,
  interpretDlt645Frame,
  RELAY_COMMANDS,
  type Dlt645EncodeOptions,
  type Dlt645ErrorFlag,
  type Dlt645Message,
  type RelayCommand,
  type RelayControlOrder,
} from './dlt645-messages.ts';
export {
  crc16x25,
  decodeDlt698Frame,
  looksLikeDlt698,
  type Dlt698Control,
  type Dlt698Frame,
  type Dlt698ServerAddress,
} from './dlt698.ts';
export { decodeDa, decodeDt, encodeDa, encodeDt, groupPns } from './gdw1376-ids.ts';
export {
  decodeGdw1376Frame,
  encodeGdw1376Frame,
  Gdw1376Afn,
  gdw1376Items,
  scanGdw1376Frames,
  type Gdw1376Address,
  type Gdw1376Control,
  type Gdw1376DataUnit,
  type Gdw1376EventCounter,
  type Gdw1376Frame,
  type Gdw1376FrameInput,
  type Gdw1376Item,
  type Gdw1376ScanResult,
  type Gdw1376Seq,
  type Gdw1376Tp,
  type Gdw1376UnitInput,
} from './gdw1376.ts';
export {
  encodeForwardActiveBody,
  encodeTdD,
  encodeTdM,
  NO_DATA,
  type EnergyRegisters,
  type Gdw1376Value,
  type PhaseReadings,
} from './gdw1376-data.ts';
export {
  encodeCurrentForwardEnergyReply,
  encodeCurrentForwardEnergyRequest,
  encodeDailyFrozenEnergyReply,
  encodeDailyFrozenEnergyRequest,
  encodeGdw1376Confirm,
  encodeGdw1376Deny,
  encodeGdw1376LinkCheck,
  forwardEnergyReadings,
  gdw1376LinkCheckKind,
  replyEnvelopeFor,
  type DailyFrozenEnergyReading,
  type ForwardEnergyReading,
  type LinkCheck,
  type MasterRequest,
  type ReplyEnvelope,
} from './gdw1376-messages.ts';
