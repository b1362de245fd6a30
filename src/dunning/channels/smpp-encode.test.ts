import { describe, expect, it } from 'vitest';
import { deliverSmReceiptPdu, deliverSmRespPdu, submitSmPdu, submitSmRespPdu } from './smpp-encode.ts';
import { MESSAGE_KEY_TLV_ID, makePdu } from './smpp-wire.ts';

/** The `smpp` package's own encoding of the same PDU, for comparison. */
function library(command: string, sequence: number, fields: Record<string, unknown>): Buffer {
  const pdu = makePdu(command, { sequence_number: sequence, ...fields });
  return (pdu as unknown as { toBuffer(): Buffer }).toBuffer();
}

function ours(pdu: { sequence_number: number; toBuffer(): Buffer }, sequence: number): Buffer {
  pdu.sequence_number = sequence;
  return pdu.toBuffer();
}

describe('hand-encoded PDUs match the smpp package byte for byte', () => {
  it('submit_sm with UDH, UCS2 and the message-key TLV', () => {
    const shortMessage = Buffer.concat([Buffer.from([5, 0, 3, 9, 2, 1]), Buffer.from('电费', 'utf16le').swap16()]);
    const mine = submitSmPdu({
      sourceAddr: '95598',
      sourceTon: 0,
      destinationAddr: '13800000001',
      destTon: 0,
      destNpi: 1,
      esmClass: 0x40,
      registeredDelivery: 1,
      dataCoding: 8,
      shortMessage,
      tlvs: [[MESSAGE_KEY_TLV_ID, Buffer.from('notice-1')]],
    });
    const theirs = library('submit_sm', 7, {
      source_addr: '95598',
      destination_addr: '13800000001',
      dest_addr_npi: 1,
      esm_class: 0x40,
      registered_delivery: 1,
      data_coding: 8,
      short_message: shortMessage,
      zt_message_key: Buffer.from('notice-1'),
    });
    expect(ours(mine, 7).toString('hex')).toBe(theirs.toString('hex'));
  });

  it('submit_sm_resp, accepted and rejected', () => {
    expect(submitSmRespPdu(3, { messageId: 'AB12' }).toBuffer()).toEqual(
      library('submit_sm_resp', 3, { message_id: 'AB12' }),
    );
    expect(submitSmRespPdu(4, { status: 0x0b }).toBuffer()).toEqual(
      library('submit_sm_resp', 4, { command_status: 0x0b }),
    );
  });

  it('deliver_sm receipt with TLVs, and deliver_sm_resp', () => {
    const text = Buffer.from('id:AB12 stat:DELIVRD err:000', 'ascii');
    const mine = deliverSmReceiptPdu({ sourceAddr: '13800000001', destinationAddr: '95598', text, receiptedMessageId: 'AB12', messageState: 2 });
    const theirs = library('deliver_sm', 11, {
      source_addr: '13800000001',
      destination_addr: '95598',
      esm_class: 4,
      data_coding: 0,
      short_message: text,
      receipted_message_id: 'AB12',
      message_state: 2,
    });
    expect(ours(mine, 11).toString('hex')).toBe(theirs.toString('hex'));
    expect(deliverSmRespPdu(11).toBuffer()).toEqual(library('deliver_sm_resp', 11, {}));
  });
});
