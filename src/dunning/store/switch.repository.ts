/**
 * Remote disconnect / reconnect (远程停复电) of cost-control meters: DL/T 645 relay-control frames
 * (C=0x1C) queued for the collection front-end, which sends them and reports back.
 */
import { sql } from 'kysely';
import type { Db } from '../../platform/index.ts';

export type SwitchAction = 'disconnect' | 'reconnect';
export type SwitchStatus = 'pending' | 'sent' | 'confirmed' | 'failed' | 'cancelled';

export interface RemoteSwitchCommandRow {
  id: number;
  request_key: string;
  meter_id: number;
  customer_id: number;
  comm_address: string;
  action: SwitchAction;
  frame_hex: string;
  status: SwitchStatus;
  requested_at: Date;
  sent_at: Date | null;
  finished_at: Date | null;
  detail: string | null;
}

/** What the dunning run asks for: a command before the front-end has touched it. */
export type SwitchRequest = Pick<RemoteSwitchCommandRow, 'request_key' | 'meter_id' | 'customer_id' | 'comm_address' | 'action' | 'frame_hex'>;

export const switchRequestKey = (action: SwitchAction, customerId: number, billId: number, meterId: number) =>
  `${action}:${customerId}:${billId}:${meterId}`;

/** The field job that replaces a remote order the meter did not take. */
export const switchFallbackKey = (commandId: number) => `switch-fallback:${commandId}`;

export async function requestSwitches(db: Db, at: Date, rows: SwitchRequest[]): Promise<number> {
  if (!rows.length) return 0;
  const r = await sql`
    INSERT INTO remote_switch_command (request_key, meter_id, customer_id, comm_address, action, frame_hex, status, requested_at)
    SELECT r.request_key, r.meter_id, r.customer_id, r.comm_address, r.action, r.frame_hex, 'pending', ${at}::timestamptz
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
         AS r(request_key text, meter_id bigint, customer_id bigint, comm_address text, action text, frame_hex text)
    ON CONFLICT ON CONSTRAINT remote_switch_command_request_key DO NOTHING`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/** For the front-end: pending commands, oldest first, locked so two front-ends never take the same one. */
export async function claimPendingSwitches(trx: Db, limit: number): Promise<RemoteSwitchCommandRow[]> {
  const r = await sql<RemoteSwitchCommandRow>`
    SELECT * FROM remote_switch_command WHERE status = 'pending' ORDER BY requested_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED`.execute(trx);
  return r.rows;
}

/** For the front-end: what became of a command (sent to the concentrator, confirmed by the meter, failed). */
export async function markSwitch(db: Db, id: number, status: Exclude<SwitchStatus, 'pending'>, at: Date, detail?: string): Promise<void> {
  await sql`
    UPDATE remote_switch_command SET status = ${status},
      sent_at = CASE WHEN ${status} = 'sent' THEN ${at}::timestamptz ELSE sent_at END,
      finished_at = CASE WHEN ${status} <> 'sent' THEN ${at}::timestamptz ELSE finished_at END,
      detail = COALESCE(${detail ?? null}, detail)
    WHERE id = ${id}`.execute(db);
}

export async function listSwitchCommands(db: Db, customerId: number): Promise<RemoteSwitchCommandRow[]> {
  const r = await sql<RemoteSwitchCommandRow>`SELECT * FROM remote_switch_command WHERE customer_id = ${customerId} ORDER BY id`.execute(db);
  return r.rows;
}

/**
 * When supply must be back for the suspension a reconnect order belongs to: the payment's posting time
 * + the segment's reconnect_within_hours (null for a disconnect order, or a suspension without it).
 */
export async function reconnectDeadline(db: Db, cmd: Pick<RemoteSwitchCommandRow, 'request_key' | 'action'>): Promise<Date | null> {
  if (cmd.action !== 'reconnect') return null;
  const [, customerId, billId] = cmd.request_key.split(':');
  const r = await sql<{ by: Date | null }>`
    SELECT s.paid_at + make_interval(hours => p.reconnect_within_hours) AS by
    FROM dunning_suspension s
    JOIN dunning_notice n ON n.id = s.notice_id
    JOIN dunning_policy p ON p.segment = n.segment
    WHERE s.customer_id = ${customerId}::bigint AND s.bill_id = ${billId}::bigint`.execute(db);
  return r.rows[0]?.by ?? null;
}
