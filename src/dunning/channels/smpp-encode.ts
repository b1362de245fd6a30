/**
 * Hand-encoded PDUs for the hot path (submit_sm and its response, deliver_sm receipts and
 * their response). The `smpp` package's generic encoder walks every field through filters
 * and cost more than everything else at a few thousand messages a second; these produce the
 * same bytes (see smpp-encode.test.ts) and are sent through the same Session.
 */

const COMMAND_ID = {
  submit_sm: 0x00000004,
  submit_sm_resp: 0x80000004,
  deliver_sm: 0x00000005,
  deliver_sm_resp: 0x80000005,
} as const;

type EncodedCommand = keyof typeof COMMAND_ID;

/** Quacks like an `smpp` PDU as far as Session.send is concerned. */
export class EncodedPdu {
  command_status: number;
  sequence_number: number;

  constructor(
    readonly command: EncodedCommand,
    private readonly body: Buffer,
    options: { sequence?: number; status?: number } = {},
  ) {
    this.sequence_number = options.sequence ?? 0;
    this.command_status = options.status ?? 0;
  }

  isResponse(): boolean {
    return (COMMAND_ID[this.command] & 0x80000000) !== 0;
  }

  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(16 + this.body.length);
    out.writeUInt32BE(out.length, 0);
    out.writeUInt32BE(COMMAND_ID[this.command], 4);
    out.writeUInt32BE(this.command_status, 8);
    out.writeUInt32BE(this.sequence_number, 12);
    this.body.copy(out, 16);
    return out;
  }
}

class BodyWriter {
  private readonly parts: Buffer[] = [];
  private readonly bytes: number[] = [];

  octet(value: number): this {
    this.bytes.push(value & 0xff);
    return this;
  }

  cstring(value: string): this {
    for (let i = 0; i < value.length; i++) this.bytes.push(value.charCodeAt(i) & 0x7f);
    this.bytes.push(0);
    return this;
  }

  octets(value: Buffer): this {
    this.flush();
    this.parts.push(value);
    return this;
  }

  tlv(tag: number, value: Buffer): this {
    this.bytes.push(tag >> 8, tag & 0xff, value.length >> 8, value.length & 0xff);
    return this.octets(value);
  }

  done(): Buffer {
    this.flush();
    return Buffer.concat(this.parts);
  }

  private flush(): void {
    if (this.bytes.length) this.parts.push(Buffer.from(this.bytes.splice(0)));
  }
}

export interface SubmitFields {
  sourceAddr: string;
  sourceTon: number;
  destinationAddr: string;
  destTon: number;
  destNpi: number;
  esmClass: number;
  registeredDelivery: number;
  dataCoding: number;
  shortMessage: Buffer;
  tlvs?: ReadonlyArray<readonly [number, Buffer]>;
}

export function submitSmPdu(f: SubmitFields): EncodedPdu {
  const w = new BodyWriter()
    .cstring('') // service_type
    .octet(f.sourceTon)
    .octet(0) // source_addr_npi
    .cstring(f.sourceAddr)
    .octet(f.destTon)
    .octet(f.destNpi)
    .cstring(f.destinationAddr)
    .octet(f.esmClass)
    .octet(0) // protocol_id
    .octet(0) // priority_flag
    .cstring('') // schedule_delivery_time
    .cstring('') // validity_period
    .octet(f.registeredDelivery)
    .octet(0) // replace_if_present_flag
    .octet(f.dataCoding)
    .octet(0) // sm_default_msg_id
    .octet(f.shortMessage.length)
    .octets(f.shortMessage);
  for (const [tag, value] of f.tlvs ?? []) w.tlv(tag, value);
  return new EncodedPdu('submit_sm', w.done());
}

/** A rejected submit carries no body (SMPP 3.4 §4.4.2). */
export function submitSmRespPdu(sequence: number, result: { messageId: string } | { status: number }): EncodedPdu {
  if ('status' in result) return new EncodedPdu('submit_sm_resp', Buffer.alloc(0), { sequence, status: result.status });
  return new EncodedPdu('submit_sm_resp', new BodyWriter().cstring(result.messageId).done(), { sequence });
}

export const TLV_RECEIPTED_MESSAGE_ID = 0x001e;
export const TLV_MESSAGE_STATE = 0x0427;

export function deliverSmReceiptPdu(f: {
  sourceAddr: string;
  destinationAddr: string;
  text: Buffer;
  receiptedMessageId?: string;
  messageState?: number;
}): EncodedPdu {
  const w = new BodyWriter()
    .cstring('')
    .octet(0)
    .octet(0)
    .cstring(f.sourceAddr)
    .octet(0)
    .octet(0)
    .cstring(f.destinationAddr)
    .octet(0x04) // esm_class: MC delivery receipt
    .octet(0)
    .octet(0)
    .cstring('')
    .cstring('')
    .octet(0)
    .octet(0)
    .octet(0) // data_coding: SMSC default
    .octet(0)
    .octet(f.text.length)
    .octets(f.text);
  if (f.receiptedMessageId !== undefined) w.tlv(TLV_RECEIPTED_MESSAGE_ID, Buffer.from(`${f.receiptedMessageId}\0`, 'ascii'));
  if (f.messageState !== undefined) w.tlv(TLV_MESSAGE_STATE, Buffer.from([f.messageState]));
  return new EncodedPdu('deliver_sm', w.done());
}

/** message_id is unused in deliver_sm_resp (SMPP 3.4 §4.6.2): one NUL, also when it refuses the deliver_sm. */
export function deliverSmRespPdu(sequence: number, status = 0): EncodedPdu {
  return new EncodedPdu('deliver_sm_resp', Buffer.from([0]), { sequence, status });
}
