import { AppError } from '../../platform/index.ts';

/** 95598 work-order kinds (工单类型). */
export type ServiceOrderKind = 'fault_repair' | 'consultation' | 'complaint' | 'report' | 'opinion' | 'service_request' | 'chaser';
export type ServiceOrderStatus = 'dispatched' | 'arrived' | 'resolved' | 'closed';
export type ServiceOrderAction = 'arrive' | 'resolve' | 'close';
export type AreaType = 'urban' | 'rural' | 'remote';

export const ORDER_KINDS: ServiceOrderKind[] = ['fault_repair', 'consultation', 'complaint', 'report', 'opinion', 'service_request', 'chaser'];

/** A repair crew reports arrival before restoring; every other kind is answered directly. */
export function nextOrderStatus(kind: ServiceOrderKind, current: ServiceOrderStatus, action: ServiceOrderAction): ServiceOrderStatus {
  const from: Record<ServiceOrderAction, ServiceOrderStatus[]> = {
    arrive: kind === 'fault_repair' ? ['dispatched'] : [],
    resolve: kind === 'fault_repair' ? ['arrived'] : ['dispatched'],
    close: ['resolved'],
  };
  if (!from[action].includes(current)) {
    const allowed = from[action].length ? `allowed from ${from[action].join(', ')}` : `not for a ${kind} order`;
    throw new AppError('ORDER_TRANSITION_REFUSED', `a ${kind} order that is ${current} cannot ${action}; ${allowed}`, 409);
  }
  return action === 'arrive' ? 'arrived' : action === 'resolve' ? 'resolved' : 'closed';
}

/** Customer satisfaction from the return call (回访): a whole number 1–5. */
export function validateSatisfaction(v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 5) throw new AppError('ORDER_SATISFACTION_INVALID', 'satisfaction is a whole number from 1 to 5', 400);
  return v as number;
}

/** The clock of an open order: the next limit (arrival first, for repairs) and how far it is. */
export function orderClock(o: { kind: string; status: string; arrival_due_at: Date | null; arrived_at: Date | null; due_at: Date; resolved_at: Date | null }, at: Date) {
  const running = o.status === 'dispatched' || o.status === 'arrived';
  const next = o.kind === 'fault_repair' && o.arrived_at === null && o.arrival_due_at ? o.arrival_due_at : o.due_at;
  return {
    nextDueAt: running ? next : null,
    remainingMinutes: running ? Math.floor((next.getTime() - at.getTime()) / 60_000) : null,
    overdue: running && next.getTime() < at.getTime(),
    arrivalOnTime: o.arrival_due_at && o.arrived_at ? o.arrived_at.getTime() <= o.arrival_due_at.getTime() : null,
    resolvedOnTime: o.resolved_at ? o.resolved_at.getTime() <= o.due_at.getTime() : null,
  };
}
