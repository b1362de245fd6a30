/**
 * The notice dispatcher (催费通知派发): claims due notices from the outbox under a lease, drops those
 * whose debt is paid, holds back what quiet hours and the daily cap forbid, sends the rest through
 * the channels within their rate limits, and records every attempt and receipt.
 */
import { randomBytes } from 'node:crypto';
import { businessDate, type AppContext } from '../../platform/index.ts';
import { lockAccountsForShare, openBillsAsOf } from '../../payments/index.ts';
import type { Channel, ChannelKind, DeliveryReport, OutboundMessage, SendResult } from '../channels/index.ts';
import { nextDayOpensAt, quietEndsAt, quietFor, type DunningPolicy } from '../domain/policy.ts';
import { loadPolicies } from '../store/policy.repository.ts';
import {
  cancelSettled, deferNotices, leaseNotices, lockContactCounts, lockDueNotices, planNotices, recordReports, recordSendOutcomes, settleNotices,
  type ClaimedMessageRow, type ReportInput, type SendOutcome,
} from '../store/outbox.repository.ts';
import { registerCallbackChannels } from './registry.ts';
import { DEFAULT_RENDER, messageFor, type RenderOptions } from './render.ts';
import { RateLimiter } from './rate-limiter.ts';

export interface DispatcherOptions {
  channels: readonly Channel[];
  /** Shown in claimed_by and on every attempt. */
  name?: string;
  /** Notices claimed per transaction. Default 500. */
  batchSize?: number;
  /** Concurrent claim-and-send loops. Default 2. */
  workers?: number;
  /** Wait between polls of an empty queue (wall-clock ms). Default 250. */
  pollMs?: number;
  /** How long a claim stays with this dispatcher before another may take it over (business time). Default 300 s. */
  leaseSeconds?: number;
  /** Messages handed to a channel per send call. Default 250. */
  sendChunk?: number;
  /** Messages per second per channel. */
  rateLimits?: Partial<Record<ChannelKind, number>>;
  /** Receipts are written in batches this often (wall-clock ms). Default 50. */
  reportFlushMs?: number;
  render?: Partial<RenderOptions>;
}

export interface Dispatcher {
  /** Stops claiming, finishes the batches in flight and writes the receipts received so far. */
  stop(): Promise<void>;
  /** Stops at once as a crashed process would: nothing in flight is recorded; leases expire and others take over. */
  kill(): void;
  /** One claim-and-send pass of one worker; returns the number of notices claimed. */
  runOnce(): Promise<number>;
  /** Writes the receipts received so far. */
  flushReports(): Promise<void>;
  /** Counts, and wall-clock ms spent claiming, in channel sends, recording outcomes and recording receipts. */
  readonly stats: {
    claimed: number; sent: number; cancelled: number; deferred: number; reports: number;
    claimMs: number; sendMs: number; recordMs: number; reportMs: number;
    /** claimMs by part of the claim transaction (emptyPolls: polls that found nothing due). */
    claimParts: Record<string, number>;
    /** sendMs by channel, and the messages handed to each. */
    sendByChannel: Record<string, { ms: number; messages: number }>;
  };
}

const MAX_REPORT_RETRIES = 100;
const MAX_REPORTS_PER_WRITE = 4000;
const DEADLOCK_RETRIES = 5;

/**
 * Runs a write again when PostgreSQL picked it as a deadlock victim (40P01): it rolled back whole, so
 * running it again is safe. Receipts and send outcomes are written by several workers at once, and a
 * lost write would leave a delivered notice "sent", or re-send a message after its lease; a claim that
 * lost would wait a poll for nothing.
 */
async function retryOnDeadlock<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if ((e as { code?: string }).code !== '40P01' || attempt >= DEADLOCK_RETRIES) throw e;
      await new Promise((r) => setTimeout(r, 10 * attempt + Math.floor(Math.random() * 20)));
    }
  }
}

export function startDispatcher(ctx: AppContext, options: DispatcherOptions): Dispatcher {
  const o = {
    name: options.name ?? `dispatcher-${randomBytes(3).toString('hex')}`,
    batchSize: options.batchSize ?? 500,
    workers: options.workers ?? 2,
    pollMs: options.pollMs ?? 250,
    leaseSeconds: options.leaseSeconds ?? 300,
    sendChunk: options.sendChunk ?? 250,
    reportFlushMs: options.reportFlushMs ?? 50,
  };
  const render: RenderOptions = { ...DEFAULT_RENDER, ...options.render };
  const channels = new Map<string, Channel>(options.channels.map((c) => [c.kind, c]));
  const limiters = new Map<string, RateLimiter>();
  for (const [kind, perSecond] of Object.entries(options.rateLimits ?? {})) if (perSecond) limiters.set(kind, new RateLimiter(perSecond));
  const stats = {
    claimed: 0, sent: 0, cancelled: 0, deferred: 0, reports: 0, claimMs: 0, sendMs: 0, recordMs: 0, reportMs: 0, claimParts: {} as Record<string, number>,
    sendByChannel: {} as Record<string, { ms: number; messages: number }>,
  };
  let running = true;
  let killed = false;
  let policies: { at: number; bySegment: Map<string, DunningPolicy> } | undefined;

  const policyFor = async (): Promise<Map<string, DunningPolicy>> => {
    if (!policies || performance.now() - policies.at > 60_000) {
      policies = { at: performance.now(), bySegment: new Map((await loadPolicies(ctx.db)).map((p) => [p.segment, p])) };
    }
    return policies.bySegment;
  };

  // ---- receipts and callbacks: buffered, written in batches ----
  let reportBuffer: { report: ReportInput; tries: number }[] = [];
  let flushing: Promise<void> | undefined;
  // Messages handed to a channel whose outcome this dispatcher has not written yet, and the
  // receipts that came for them meanwhile: those are written with the outcome, in one statement
  // (and never race it from the receipt writer).
  const unrecorded = new Set<string>();
  const early = new Map<string, ReportInput>();
  const onReport = (r: DeliveryReport) => {
    if (killed) return;
    const report: ReportInput = {
      message_key: r.messageKey ?? null, provider_message_id: r.providerMessageId, state: r.state, at: r.at.toISOString(), detail: r.detail ?? null,
    };
    if (r.messageKey && unrecorded.has(r.messageKey) && !early.has(r.messageKey)) early.set(r.messageKey, report);
    else reportBuffer.push({ report, tries: 0 });
  };
  const unsubscribe = options.channels.map((c) => c.onReport(onReport));
  const unregister = registerCallbackChannels(ctx, options.channels);

  const flushOnce = async (): Promise<number> => {
    // bounded statements: a backlog is written in several, never in one giant one
    const batch = reportBuffer.slice(0, MAX_REPORTS_PER_WRITE);
    reportBuffer = reportBuffer.slice(batch.length);
    if (!batch.length || killed) return 0;
    const t0 = performance.now();
    const now = ctx.clock.now();
    let written: Awaited<ReturnType<typeof recordReports>>;
    try {
      written = await retryOnDeadlock(() => recordReports(ctx.db, batch.map((b) => b.report), now));
      await retryOnDeadlock(() => settleNotices(ctx.db, written.noticeIds, now));
    } catch (e) {
      // nothing of the batch is lost: it goes back to the front of the buffer for the next flush
      reportBuffer = [...batch, ...reportBuffer];
      throw e;
    }
    const { unmatched } = written;
    stats.reportMs += performance.now() - t0;
    stats.reports += batch.length - unmatched.length;
    // a receipt can overtake the recording of its submit response: try it again shortly
    const left = new Set(unmatched);
    for (const b of batch) if (left.has(b.report) && b.tries < MAX_REPORT_RETRIES) reportBuffer.push({ ...b, tries: b.tries + 1 });
    return batch.length;
  };
  /** Writes every report buffered when called (in bounded statements). */
  const flushAll = async (): Promise<void> => {
    let left = reportBuffer.length;
    while (left > 0 && !killed) {
      const n = await flushOnce();
      if (!n) break;
      left -= n;
    }
  };
  const flushReports = async (): Promise<void> => {
    while (flushing) await flushing;
    flushing = flushAll().finally(() => (flushing = undefined));
    await flushing;
  };
  const flushTimer = setInterval(() => {
    if (!flushing && reportBuffer.length) flushReports().catch((err) => ctx.log.error({ err }, 'dunning receipts not recorded'));
  }, o.reportFlushMs);

  // ---- claim ----
  const claim = async (): Promise<{ claimed: number; messages: ClaimedMessageRow[] }> => {
    const bySegment = await policyFor();
    const now = ctx.clock.now();
    const today = businessDate(now);
    let t = performance.now();
    const lap = (part: string) => {
      const t1 = performance.now();
      stats.claimParts[part] = (stats.claimParts[part] ?? 0) + (t1 - t);
      t = t1;
    };
    return ctx.db.transaction().execute(async (trx) => {
      const candidates = await lockDueNotices(trx, now, o.batchSize);
      // an empty queue is polled: count those polls apart from the claims
      lap(candidates.length ? 'lock' : 'emptyPolls');
      if (!candidates.length) return { claimed: 0, messages: [] };
      const customers = [...new Set(candidates.map((c) => Number(c.customer_id)))];
      await lockAccountsForShare(trx, customers);
      lap('accounts');
      const open = await openBillsAsOf(trx, today, customers);
      lap('openBills');
      const ids = candidates.map((c) => Number(c.id));
      const cancelled = new Set(await cancelSettled(trx, ids, open.map((b) => b.billId), now));
      lap('cancel');
      stats.cancelled += cancelled.size;
      const live = ids.filter((id) => !cancelled.has(id));
      // taken in customer order, like the accounts: claims over one customer queue here and never deadlock
      await lockContactCounts(trx, live);
      lap('contactLock');
      const plan = await planNotices(trx, live, today);
      lap('plan');
      const channelsOf = new Map<number, string[]>();
      for (const c of plan.channels) {
        const id = Number(c.notice_id);
        const list = channelsOf.get(id);
        if (list) list.push(c.channel);
        else channelsOf.set(id, [c.channel]);
      }
      const deferrals: { id: number; until: Date }[] = [];
      const send: number[] = [];
      const nothingToDo: number[] = [];
      for (const n of plan.notices) {
        const id = Number(n.id);
        const policy = bySegment.get(n.segment)!;
        const use = channelsOf.get(id) ?? [];
        if (!use.length) nothingToDo.push(id);
        else if (quietFor(policy, use, now)) {
          deferrals.push({ id, until: quietEndsAt(now, policy.quietStart, policy.quietEnd) });
        } else if (n.counts_for_cap && n.rank > n.room) deferrals.push({ id, until: nextDayOpensAt(now, policy.quietEnd) });
        else send.push(id);
      }
      stats.deferred += deferrals.length;
      await deferNotices(trx, deferrals);
      lap('defer');
      const sendSet = new Set(send);
      const leased = await leaseNotices(trx, {
        ids: send, channels: plan.channels.filter((c) => sendSet.has(Number(c.notice_id))), dispatcher: o.name, now,
        leaseUntil: new Date(now.getTime() + o.leaseSeconds * 1000), today,
        openBills: open.map((b) => ({ customer_id: b.customerId, due_date: b.dueDate, outstanding: b.outstanding, late_fee: b.lateFee })),
      });
      lap('lease');
      await settleNotices(trx, [...nothingToDo, ...leased.failedAtOnce], now);
      lap('settle');
      return { claimed: candidates.length, messages: leased.messages };
    });
  };

  // ---- send ----
  const sendChannel = async (kind: string, rows: ClaimedMessageRow[]): Promise<void> => {
    const channel = channels.get(kind);
    for (let i = 0; i < rows.length && !killed; i += o.sendChunk) {
      const chunk = rows.slice(i, i + o.sendChunk);
      for (const row of chunk) unrecorded.add(row.message_key);
      try {
        await sendChunk(kind, channel, chunk);
      } finally {
        // receipts that came while the outcomes were being written go to the receipt writer
        for (const row of chunk) {
          unrecorded.delete(row.message_key);
          const late = early.get(row.message_key);
          if (late) {
            early.delete(row.message_key);
            if (!killed) reportBuffer.push({ report: late, tries: 0 });
          }
        }
      }
    }
  };

  const sendChunk = async (kind: string, channel: Channel | undefined, chunk: ClaimedMessageRow[]): Promise<void> => {
    const outcomes: SendOutcome[] = [];
    const ready: OutboundMessage[] = [];
    const bySegment = await policyFor();
    const at = ctx.clock.now();
    for (const row of chunk) {
      // a batch claimed before quiet hours can reach its last chunks after they began (rate limits): those
      // stay in flight, are claimed again when their lease runs out, held to the morning, then sent under their key
      const policy = bySegment.get(row.segment);
      if (policy && quietFor(policy, [kind], at)) continue;
      const m = messageFor(row, render);
      if ('error' in m) outcomes.push({ message_key: row.message_key, accepted: false, error_code: 'NOTICE_FIELD_INVALID', detail: m.error, permanent: true });
      else if (!channel) outcomes.push({ message_key: row.message_key, accepted: false, error_code: 'CHANNEL_NOT_CONFIGURED', detail: `no ${kind} channel in ${o.name}`, permanent: false });
      else ready.push(m);
    }
    if (ready.length && channel) {
      await limiters.get(kind)?.take(ready.length);
      const t0 = performance.now();
      const results: SendResult[] = await channel.send(ready);
      const ms = performance.now() - t0;
      stats.sendMs += ms;
      const by = (stats.sendByChannel[kind] ??= { ms: 0, messages: 0 });
      by.ms += ms;
      by.messages += ready.length;
      for (const r of results) {
        outcomes.push({
          message_key: r.messageKey, accepted: r.accepted, provider_message_id: r.providerMessageId ?? null,
          error_code: r.error?.code ?? null, detail: r.error?.message ?? null, permanent: r.error?.permanent ?? false,
          retry_after_ms: r.error?.retryAfterMs ?? null,
        });
      }
    }
    if (killed) return;
    stats.sent += outcomes.filter((x) => x.accepted).length;
    let merged = 0;
    for (const out of outcomes) {
      const report = early.get(out.message_key);
      if (!report) continue;
      early.delete(out.message_key);
      out.report = { state: report.state, at: report.at, detail: report.detail ?? null };
      merged++;
    }
    const now = ctx.clock.now();
    const t0 = performance.now();
    try {
      await retryOnDeadlock(() => ctx.db.transaction().execute(async (trx) => settleNotices(trx, await recordSendOutcomes(trx, outcomes, now), now)));
    } catch (e) {
      // the receipts are not lost with the outcomes: the receipt writer applies them
      for (const out of outcomes) {
        if (out.report && !killed) reportBuffer.push({ report: { message_key: out.message_key, provider_message_id: out.provider_message_id ?? '', ...out.report }, tries: 0 });
      }
      throw e;
    }
    stats.recordMs += performance.now() - t0;
    stats.reports += merged;
  };

  const runOnce = async (): Promise<number> => {
    const t0 = performance.now();
    // a claim can meet a receipt writer of a notice whose lease ran out (it locks the notice, then the
    // attempt; the writer the attempt, then the notice): the victim rolled back whole, claim again
    const { claimed, messages } = await retryOnDeadlock(claim);
    stats.claimMs += performance.now() - t0;
    stats.claimed += claimed;
    const byChannel = new Map<string, ClaimedMessageRow[]>();
    for (const m of messages) {
      const list = byChannel.get(m.channel);
      if (list) list.push(m);
      else byChannel.set(m.channel, [m]);
    }
    await Promise.all([...byChannel].map(([kind, rows]) => sendChannel(kind, rows)));
    return claimed;
  };

  const loop = async (): Promise<void> => {
    while (running) {
      let claimed = 0;
      try {
        claimed = await runOnce();
      } catch (err) {
        if (killed) return;
        ctx.log.error({ err, dispatcher: o.name }, 'dunning dispatch pass failed');
      }
      if (running && claimed === 0) await new Promise((r) => setTimeout(r, o.pollMs));
    }
  };
  const loops = Array.from({ length: o.workers }, () => loop());

  return {
    stats,
    runOnce,
    flushReports,
    async stop() {
      running = false;
      await Promise.all(loops);
      clearInterval(flushTimer);
      await flushReports();
      for (const u of unsubscribe) u();
      unregister();
    },
    kill() {
      running = false;
      killed = true;
      clearInterval(flushTimer);
      for (const u of unsubscribe) u();
      unregister();
    },
  };
}
