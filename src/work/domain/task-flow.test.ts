import { describe, expect, it } from 'vitest';
import { checkWorksKind, nextTaskStatus, servesArea, validateCannotComplete, validateOutcome } from './task-flow.ts';

const refused = expect.objectContaining({ code: 'TASK_TRANSITION_REFUSED' });
const invalid = expect.objectContaining({ code: 'TASK_OUTCOME_INVALID' });

describe('task flow', () => {
  it('walks open → accepted → in progress → done', () => {
    expect(nextTaskStatus('open', 'accept')).toBe('accepted');
    expect(nextTaskStatus('accepted', 'start')).toBe('in_progress');
    expect(nextTaskStatus('in_progress', 'complete')).toBe('done');
  });

  it('refuses closing twice, accepting a closed task and completing work not started', () => {
    expect(() => nextTaskStatus('done', 'complete')).toThrow(refused);
    expect(() => nextTaskStatus('cannot_complete', 'accept')).toThrow(refused);
    expect(() => nextTaskStatus('cancelled', 'start')).toThrow(refused);
    expect(() => nextTaskStatus('open', 'complete')).toThrow(refused);
  });

  it('paid on site needs an exact positive amount as a string', () => {
    expect(validateOutcome('manual_collection', { result: 'paid_on_site', amount: '128.50' }, '2026-03-02')).toMatchObject({ amount: '128.50' });
    for (const amount of [128.5, '0', '12.345', '-3', 'abc']) {
      expect(() => validateOutcome('manual_collection', { result: 'paid_on_site', amount }, '2026-03-02')).toThrow(invalid);
    }
  });

  it('a promise to pay cannot lie in the past; a corrected contact must be well-formed', () => {
    expect(() => validateOutcome('manual_collection', { result: 'promise_to_pay', promisedDate: '2026-03-01' }, '2026-03-02')).toThrow(invalid);
    expect(validateOutcome('manual_collection', { result: 'promise_to_pay', promisedDate: '2026-03-10' }, '2026-03-02')).toEqual({ result: 'promise_to_pay', promisedDate: '2026-03-10' });
    expect(() => validateOutcome('manual_collection', { result: 'wrong_contact_corrected', contact: { kind: 'mobile', value: '12345' } }, '2026-03-02')).toThrow(invalid);
  });

  it('business change checks the fields of its change type', () => {
    expect(validateOutcome('business_change', { changeType: 'capacity', effectiveDate: '2026-04-01', newCapacityKva: 80 }, '2026-03-02')).toMatchObject({ newCapacityKva: 80 });
    expect(() => validateOutcome('business_change', { changeType: 'capacity', effectiveDate: '2026-04-01', newCapacityKva: -1 }, '2026-03-02')).toThrow(invalid);
    expect(() => validateOutcome('business_change', { changeType: 'rename', effectiveDate: '2026-04-01' }, '2026-03-02')).toThrow(invalid);
  });

  it('a re-read needs a register for a day not in the future; cannot-complete needs a reason', () => {
    expect(() => validateOutcome('re_read', { readingDate: '2026-03-03', totalKwh: '100' }, '2026-03-02')).toThrow(invalid);
    expect(validateOutcome('re_read', { readingDate: '2026-03-02', totalKwh: '100.5', peakKwh: '40' }, '2026-03-02')).toEqual({ readingDate: '2026-03-02', totalKwh: '100.5', peakKwh: '40' });
    expect(() => validateCannotComplete({})).toThrow(invalid);
  });
});

describe('meter exchange outcome', () => {
  it('takes optional time-of-use registers and refuses malformed ones', () => {
    const base = { exchangeDate: '2026-02-15', oldFinalKwh: '1100.5', newMeterAssetNo: 'NEW1', newInitialKwh: '0' };
    expect(validateOutcome('meter_exchange', { ...base, oldFinalRegisters: { peakKwh: '400.25' } }, '2026-02-15')).toMatchObject({ oldFinalRegisters: { peakKwh: '400.25' }, newInitialRegisters: {} });
    expect(() => validateOutcome('meter_exchange', { ...base, oldFinalRegisters: { peakKwh: 400 } }, '2026-02-15')).toThrow(invalid);
    expect(() => validateOutcome('meter_exchange', { ...base, oldFinalKwh: '-1' }, '2026-02-15')).toThrow(invalid);
  });

  it('a substitute serves the same station, an org above the place, or the same team', () => {
    const grid = { org_path: '/SGCC/LN/LN01/LN0101/LN0101S01/LN0101S01G01/', team_id: null };
    expect(servesArea({ org_path: '/SGCC/LN/LN01/LN0101/LN0101S01/LN0101S01G02/', team_id: null }, grid)).toBe(true);
    expect(servesArea({ org_path: '/SGCC/LN/LN01/LN0101/', team_id: null }, grid)).toBe(true);
    expect(servesArea({ org_path: '/SGCC/LN/LN01/LN0101/LN0101S02/LN0101S02G01/', team_id: null }, grid)).toBe(false);
    expect(servesArea({ org_path: '/SGCC/LN/LN02/LN0201/', team_id: 7 }, { org_path: '/SGCC/LN/LN01/LN0101/', team_id: 7 })).toBe(true);
    expect(servesArea({ org_path: '/SGCC/LN/LN02/LN0201/', team_id: 8 }, { org_path: '/SGCC/LN/LN01/LN0101/', team_id: 7 })).toBe(false);
  });

  it('a task goes only to the role its kind is routed to', () => {
    expect(() => checkWorksKind({ id: 1, role: 'collection_team' }, 're_read', 'team')).not.toThrow();
    expect(() => checkWorksKind({ id: 2, role: 'grid_manager' }, 'manual_collection', 'grid_manager')).not.toThrow();
    expect(() => checkWorksKind({ id: 2, role: 'grid_manager' }, 're_read', 'team')).toThrow(expect.objectContaining({ code: 'TASK_ASSIGNEE_ROLE' }));
    expect(() => checkWorksKind({ id: 3, role: 'service_agent' }, 'manual_collection', 'grid_manager')).toThrow(expect.objectContaining({ code: 'TASK_ASSIGNEE_ROLE' }));
  });
});
