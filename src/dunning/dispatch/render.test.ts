import { describe, expect, it } from 'vitest';
import { DEFAULT_RENDER, messageFor } from './render.ts';
import type { ClaimedMessageRow } from '../store/outbox.repository.ts';

const reconnect: ClaimedMessageRow = {
  message_key: 'N7-sms-1', notice_id: 7, segment: 'residential', channel: 'sms', recipient: '13800000000', step: 'reconnect',
  bill_no: 'B-2026-01-7', period: '2026-01', due_date: '2026-02-16', amount: '120.50', late_fee: '0.00', suspend_on: null,
  reconnect_within_hours: 12, customer_number: '0123456789', customer_name: '张三',
};

describe('the message of a claimed notice', () => {
  it('states the reconnect commitment of the customer\'s segment, not a fixed 24 hours', () => {
    const m = messageFor(reconnect, DEFAULT_RENDER);
    expect(m).not.toHaveProperty('error');
    expect((m as { text: string }).text).toContain('在12小时内');
    expect((m as { text: string }).text).not.toContain('24');
  });
});
