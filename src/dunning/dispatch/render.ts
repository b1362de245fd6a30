import { NoticeFormatError, renderNotice, type NoticeLocale, type NoticeStep, type OutboundMessage } from '../channels/index.ts';
import type { ChannelKind } from '../channels/index.ts';
import type { ClaimedMessageRow } from '../store/outbox.repository.ts';

export interface RenderOptions {
  brand: string;
  hotline: string;
  payChannels: string[];
  /** The customer portal; the bill link is `${billUrlBase}/bills/{bill_no}`. */
  billUrlBase: string;
  locale: NoticeLocale;
}

export const DEFAULT_RENDER: RenderOptions = {
  brand: '国网辽宁省电力',
  hotline: '95598',
  payChannels: ['app', 'wechat', 'alipay', 'bank', 'counter'],
  billUrlBase: 'https://zerotouch.example',
  locale: 'zh',
};

/** The message for one claimed attempt, or the reason it cannot be written. */
export function messageFor(row: ClaimedMessageRow, o: RenderOptions): OutboundMessage | { error: string } {
  try {
    const r = renderNotice(
      row.step as NoticeStep,
      {
        brand: o.brand,
        customerNumber: row.customer_number,
        customerName: row.customer_name,
        ...(row.period ? { period: row.period } : {}),
        amount: row.amount,
        dueDate: row.due_date ?? '',
        lateFee: row.late_fee,
        payChannels: o.payChannels,
        billUrl: `${o.billUrlBase}/bills/${encodeURIComponent(row.bill_no)}`,
        ...(row.suspend_on ? { suspensionDate: row.suspend_on } : {}),
        reconnectWithinHours: row.reconnect_within_hours,
        hotline: o.hotline,
      },
      o.locale,
    );
    const channel = row.channel as ChannelKind;
    const spoken = channel === 'voice' || channel === 'catv';
    return {
      messageKey: row.message_key,
      channel,
      to: row.recipient,
      subject: r.subject,
      text: spoken ? r.speech : r.text,
      ...(channel === 'email' ? { html: r.html } : {}),
    };
  } catch (e) {
    if (e instanceof NoticeFormatError) return { error: e.message };
    throw e;
  }
}
