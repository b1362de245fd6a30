import { describe, expect, it } from 'vitest';
import { DATA_CODING_GSM, DATA_CODING_UCS2, encodeGsm, encodeSms, formatReceiptText, isGsmText, parseReceipt } from './smpp-wire.ts';

const udh = (segment: { shortMessage: Buffer }) => [...segment.shortMessage.subarray(0, 6)];

describe('SMS text encoding', () => {
  it('sends plain Latin text as GSM 03.38, one part up to 160 characters', () => {
    const [only, ...rest] = encodeSms('A'.repeat(160), 1);
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ dataCoding: DATA_CODING_GSM, esmClass: 0 });
    expect(only!.shortMessage.length).toBe(160);
    expect([...encodeGsm('@$_{€')]).toEqual([0x00, 0x02, 0x11, 0x1b, 0x28, 0x1b, 0x65]);
  });

  it('splits 161 GSM characters into 153 + 8 with a concatenation header', () => {
    const parts = encodeSms('B'.repeat(161), 0x2a);
    expect(parts.map((p) => p.shortMessage.length - 6)).toEqual([153, 8]);
    expect(parts.map(udh)).toEqual([
      [0x05, 0x00, 0x03, 0x2a, 2, 1],
      [0x05, 0x00, 0x03, 0x2a, 2, 2],
    ]);
    expect(parts.every((p) => p.esmClass === 0x40)).toBe(true);
  });

  it('counts GSM extension characters as two septets', () => {
    expect(encodeSms('{'.repeat(80), 1)).toHaveLength(1);
    expect(encodeSms('{'.repeat(81), 1)).toHaveLength(2);
  });

  it('sends Chinese as UCS2, 70 characters in one part and 67 per part beyond', () => {
    expect(isGsmText('电费')).toBe(false);
    const single = encodeSms('电'.repeat(70), 1);
    expect(single).toHaveLength(1);
    expect(single[0]).toMatchObject({ dataCoding: DATA_CODING_UCS2 });
    expect(single[0]!.shortMessage.subarray(0, 2)).toEqual(Buffer.from([0x75, 0x35]));
    const parts = encodeSms('电'.repeat(71), 1);
    expect(parts.map((p) => (p.shortMessage.length - 6) / 2)).toEqual([67, 4]);
  });

  it('never splits a surrogate pair between parts', () => {
    const text = `${'电'.repeat(66)}😀end`;
    const parts = encodeSms(text, 1);
    const decoded = parts.map((p) => Buffer.from(p.shortMessage.subarray(6)).swap16().toString('utf16le'));
    expect(decoded[0]).toBe('电'.repeat(66));
    expect(decoded.join('')).toBe(text);
  });
});

describe('delivery receipts', () => {
  const text = formatReceiptText({
    messageId: 'AB12',
    stat: 'DELIVRD',
    error: '000',
    submitted: new Date('2024-07-01T08:00:00Z'),
    done: new Date('2024-07-01T08:00:05Z'),
    text: '电费 bill ready',
  });

  it('formats and reads the SMPP 3.4 Appendix B text', () => {
    expect(text).toBe('id:AB12 sub:001 dlvrd:001 submit date:2407010800 done date:2407010800 stat:DELIVRD err:000 text: bill ready');
    expect(parseReceipt({ esmClass: 0x04, text })).toEqual({ messageId: 'AB12', stat: 'DELIVRD', state: 'delivered', error: '000' });
  });

  it('prefers receipted_message_id and message_state TLVs over the text', () => {
    expect(parseReceipt({ esmClass: 0x04, text, receiptedMessageId: 'CD34', messageState: 5 })).toMatchObject({
      messageId: 'CD34',
      stat: 'UNDELIV',
      state: 'failed',
    });
    expect(parseReceipt({ esmClass: 0x04, text: '', receiptedMessageId: 'CD34', messageState: 2 })).toMatchObject({ state: 'delivered' });
  });

  it('treats ENROUTE as not final, EXPIRED and REJECTD as failed, and ignores mobile-originated messages', () => {
    expect(parseReceipt({ esmClass: 0x04, text: 'id:1 stat:ENROUTE' })?.state).toBeNull();
    expect(parseReceipt({ esmClass: 0x04, text: '', receiptedMessageId: '1', messageState: 1 })?.state).toBeNull();
    expect(parseReceipt({ esmClass: 0x04, text: 'id:1 stat:EXPIRED' })?.state).toBe('failed');
    expect(parseReceipt({ esmClass: 0x04, text: 'id:1 stat:REJECTD' })?.state).toBe('failed');
    expect(parseReceipt({ esmClass: 0x00, text: 'id:1 stat:DELIVRD' })).toBeUndefined();
    expect(parseReceipt({ esmClass: 0x04, text: 'garbage' })).toBeUndefined();
  });

  it('treats ACCEPTD, a final state (SMPP 3.4 §5.2.28: read on the subscriber\'s behalf), as delivered', () => {
    expect(parseReceipt({ esmClass: 0x04, text: 'id:1 stat:ACCEPTD err:000' })).toEqual({ messageId: '1', stat: 'ACCEPTD', state: 'delivered', error: '000' });
    expect(parseReceipt({ esmClass: 0x04, text: '', receiptedMessageId: '1', messageState: 6 })).toEqual({ messageId: '1', stat: 'ACCEPTD', state: 'delivered' });
  });

  it('reads the full message_state names some SMSCs write as stat, so a delivered message is not reported failed', () => {
    expect(parseReceipt({ esmClass: 0x04, text: 'id:1 stat:DELIVERED err:000' })?.state).toBe('delivered');
    expect(parseReceipt({ esmClass: 0x04, text: 'id:1 stat:delivered' })?.state).toBe('delivered');
    expect(parseReceipt({ esmClass: 0x04, text: 'id:1 stat:ACCEPTED' })?.state).toBe('delivered');
    expect(parseReceipt({ esmClass: 0x04, text: 'id:1 stat:UNDELIVERABLE' })?.state).toBe('failed');
  });
});
