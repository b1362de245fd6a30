import { AppError, isIsoDate } from '../../platform/index.ts';
import { validateContact, type ContactKind } from '../../customers/index.ts';
import type { TaskKind, TaskStatus } from '../store/tasks.repository.ts';

/** What a worker does to a task; each action is allowed from some statuses only. */
export type TaskAction = 'accept' | 'start' | 'complete' | 'cannot_complete' | 'cancel';

const FLOW: Record<TaskAction, { from: TaskStatus[]; to: TaskStatus }> = {
  accept: { from: ['open'], to: 'accepted' },
  start: { from: ['open', 'accepted'], to: 'in_progress' },
  complete: { from: ['in_progress'], to: 'done' },
  cannot_complete: { from: ['accepted', 'in_progress'], to: 'cannot_complete' },
  cancel: { from: ['open', 'accepted', 'in_progress'], to: 'cancelled' },
};

export const CLOSED_STATUSES: TaskStatus[] = ['done', 'cannot_complete', 'cancelled'];

/**
 * Whether a worker may take over work of a place (a task's org and team, or an absent colleague's): they
 * work the same community, i.e. the same team, the same station's subtree, or an org above the place.
 */
export function servesArea(worker: { org_path: string; team_id: number | null }, place: { org_path: string; team_id: number | null }): boolean {
  const station = `/${place.org_path.split('/').filter(Boolean).slice(0, 5).join('/')}/`;
  const sameTeam = place.team_id !== null && worker.team_id === place.team_id;
  return sameTeam || worker.org_path.startsWith(station) || place.org_path.startsWith(worker.org_path);
}

/**
 * Refuses a worker who cannot take over work of `place` (a task by reassignment, or an absent
 * colleague's tasks as their named substitute): an inactive one, or one not serving its community.
 */
export function checkTakesOver(worker: { code?: string; id: number; active: boolean; org_path: string; team_id: number | null }, place: { org_path: string; team_id: number | null }): void {
  const who = `staff ${worker.code ?? worker.id}`;
  if (!worker.active) throw new AppError('TASK_ASSIGNEE_INACTIVE', `${who} is not active`, 409);
  if (!servesArea(worker, place)) throw new AppError('TASK_ASSIGNEE_OUT_OF_AREA', `${who} does not serve the grid, station or team of the work`, 409);
}

/** Who works each kind of task, by where the kind is routed (task_kind.routed_to). */
const WORKER_ROLE: Record<string, string> = { team: 'collection_team', grid_manager: 'grid_manager', service_agent: 'service_agent' };

/**
 * Refuses handing a task to a role that does not work its kind: a re-read is the collection team's, a
 * manual collection the community manager's. The task's outcome writes what that role may write (a
 * reading, a payment taken on site), so another role holding it would write it in their stead.
 */
export function checkWorksKind(worker: { code?: string; id: number; role: string }, kind: string, routedTo: string): void {
  const role = WORKER_ROLE[routedTo];
  if (worker.role !== role) throw new AppError('TASK_ASSIGNEE_ROLE', `a ${kind} task is worked by a ${role}; staff ${worker.code ?? worker.id} is a ${worker.role}`, 409);
}

/** The status an action leads to, or TASK_TRANSITION_REFUSED (closing twice, accepting a closed task …). */
export function nextTaskStatus(current: TaskStatus, action: TaskAction): TaskStatus {
  const rule = FLOW[action];
  if (!rule.from.includes(current)) {
    throw new AppError('TASK_TRANSITION_REFUSED', `a task that is ${current} cannot take "${action.replace('_', ' ')}"; allowed from ${rule.from.join(', ')}`, 409);
  }
  return rule.to;
}

export type Outcome = Record<string, unknown>;

const invalid = (message: string) => new AppError('TASK_OUTCOME_INVALID', message, 400);

const MONEY = /^\d{1,12}(\.\d{1,2})?$/;
const ENERGY = /^\d{1,12}(\.\d{1,4})?$/;

function str(o: Outcome, key: string, required = true): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') {
    if (required) throw invalid(`${key} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw invalid(`${key} must be a string`);
  return v.trim();
}

/** A positive amount in yuan as an exact decimal string (never a float). */
export function moneyField(o: Outcome, key: string): string {
  const v = str(o, key)!;
  if (!MONEY.test(v) || /^0+(\.0+)?$/.test(v)) throw invalid(`${key} must be a positive amount with at most 2 decimals, as a string: ${v}`);
  return v;
}

export function energyField(o: Outcome, key: string, required = true): string | undefined {
  const v = str(o, key, required);
  if (v === undefined) return undefined;
  if (!ENERGY.test(v)) throw invalid(`${key} must be a register value in kWh with at most 4 decimals, as a string: ${v}`);
  return v;
}

function dateField(o: Outcome, key: string, notBefore?: string): string {
  const v = str(o, key)!;
  if (!isIsoDate(v)) throw invalid(`${key} must be a date YYYY-MM-DD: ${v}`);
  if (notBefore && v < notBefore) throw invalid(`${key} ${v} lies before ${notBefore}`);
  return v;
}

function contactField(o: Outcome): { kind: ContactKind; value: string } {
  const c = o.contact as { kind?: unknown; value?: unknown } | undefined;
  if (!c || typeof c !== 'object') throw invalid('contact {kind, value} is required');
  const kind = c.kind as ContactKind;
  if (!['mobile', 'landline', 'email', 'catv'].includes(kind)) throw invalid(`contact.kind must be mobile, landline, email or catv`);
  if (typeof c.value !== 'string') throw invalid('contact.value must be a string');
  try {
    return { kind, value: validateContact(kind, c.value) };
  } catch (e) {
    throw invalid((e as Error).message);
  }
}

function oneOf<T extends string>(o: Outcome, key: string, allowed: readonly T[]): T {
  const v = o[key] as T;
  if (!allowed.includes(v)) throw invalid(`${key} must be one of ${allowed.join(', ')}`);
  return v;
}

export const COLLECTION_RESULTS = ['paid_on_site', 'promise_to_pay', 'dispute', 'vacant_premises', 'wrong_contact_corrected'] as const;
export const BUSINESS_CHANGES = ['name', 'tariff', 'capacity', 'move_in', 'move_out'] as const;

/**
 * Check and normalise the outcome a worker records when completing a task of a kind; `today` is the
 * business date (a promise to pay cannot lie in the past). Unknown fields are dropped.
 */
export function validateOutcome(kind: TaskKind, o: Outcome, today: string): Outcome {
  if (!o || typeof o !== 'object') throw invalid('outcome must be an object');
  const note = str(o, 'note', false);
  const withNote = (x: Outcome): Outcome => (note ? { ...x, note } : x);
  switch (kind) {
    case 'manual_collection': {
      const result = oneOf(o, 'result', COLLECTION_RESULTS);
      if (result === 'paid_on_site') return withNote({ result, amount: moneyField(o, 'amount'), receiptNo: str(o, 'receiptNo', false) ?? null });
      if (result === 'promise_to_pay') return withNote({ result, promisedDate: dateField(o, 'promisedDate', today) });
      if (result === 'dispute') return withNote({ result, reason: str(o, 'reason') });
      if (result === 'vacant_premises') return withNote({ result });
      return withNote({ result, contact: contactField(o) });
    }
    case 're_read': {
      const reading: Outcome = { readingDate: dateField(o, 'readingDate'), totalKwh: energyField(o, 'totalKwh') };
      if (String(reading.readingDate) > today) throw invalid('readingDate lies in the future');
      for (const k of ['sharpKwh', 'peakKwh', 'flatKwh', 'valleyKwh']) {
        const v = energyField(o, k, false);
        if (v !== undefined) reading[k] = v;
      }
      return withNote(reading);
    }
    case 'contact_verification': {
      const result = oneOf(o, 'result', ['verified', 'corrected', 'unreachable'] as const);
      if (result === 'unreachable') return withNote({ result });
      return withNote({ result, contact: contactField(o) });
    }
    case 'business_change': {
      const changeType = oneOf(o, 'changeType', BUSINESS_CHANGES);
      const effectiveDate = dateField(o, 'effectiveDate');
      if (changeType === 'name') return withNote({ changeType, effectiveDate, newName: str(o, 'newName') });
      if (changeType === 'tariff') return withNote({ changeType, effectiveDate, newTariffCode: str(o, 'newTariffCode') });
      if (changeType === 'capacity') {
        const kva = o.newCapacityKva;
        if (!Number.isInteger(kva) || (kva as number) <= 0) throw invalid('newCapacityKva must be a positive whole number of kVA');
        return withNote({ changeType, effectiveDate, newCapacityKva: kva });
      }
      if (changeType === 'move_in') return withNote({ changeType, effectiveDate, newName: str(o, 'newName'), contact: o.contact ? contactField(o) : null });
      return withNote({ changeType, effectiveDate, finalKwh: energyField(o, 'finalKwh') });
    }
    case 'consultation':
      return withNote({ answer: str(o, 'answer') });
    case 'area_inspection': {
      const defects = o.defects ?? [];
      if (!Array.isArray(defects) || defects.some((d) => typeof d !== 'string')) throw invalid('defects must be a list of strings');
      return withNote({ findings: str(o, 'findings'), defects });
    }
    case 'disconnect':
    case 'reconnect':
      return withNote({ registerKwh: energyField(o, 'registerKwh', false) ?? null });
    case 'meter_exchange':
      // time-of-use registers, when the meters have them, so TOU bills stay right across the exchange
      return withNote({
        exchangeDate: dateField(o, 'exchangeDate'),
        oldFinalKwh: energyField(o, 'oldFinalKwh'),
        newMeterAssetNo: str(o, 'newMeterAssetNo'),
        newInitialKwh: energyField(o, 'newInitialKwh'),
        oldFinalRegisters: touRegisters(o, 'oldFinalRegisters'),
        newInitialRegisters: touRegisters(o, 'newInitialRegisters'),
      });
  }
}

export interface TouRegisters {
  sharpKwh?: string;
  peakKwh?: string;
  flatKwh?: string;
  valleyKwh?: string;
}

function touRegisters(o: Outcome, key: string): TouRegisters {
  const r = o[key];
  if (r === undefined || r === null) return {};
  if (typeof r !== 'object') throw invalid(`${key} must be an object of register values`);
  const out: TouRegisters = {};
  for (const k of ['sharpKwh', 'peakKwh', 'flatKwh', 'valleyKwh'] as const) {
    const v = energyField(r as Outcome, k, false);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Why a task could not be done: a reason is always required. */
export function validateCannotComplete(o: Outcome): Outcome {
  if (!o || typeof o !== 'object') throw invalid('outcome must be an object');
  return { reason: str(o, 'reason') };
}
