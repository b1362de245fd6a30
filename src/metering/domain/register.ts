import { sql, type RawBuilder } from 'kysely';

/**
 * A DL/T 645 energy register holds XXXXXX.XX kWh: after 999999.99 it reads 0 again (rollover). A fall of
 * more than half the register is the register wrapping, not the meter going backwards (a meter does not
 * run half its range between two readings); the consumption is then what it counted up to the wrap and
 * after it. A smaller fall stays negative, for the rules that hold a reverse reading (VEE's reverse rule,
 * billing's NEGATIVE_CONSUMPTION). A value at or above the top is a wider register, which does not wrap there.
 */
export const REGISTER_WRAP = 1_000_000;

/** Consumption from register value `prev` to `cur` (SQL expressions), across a rollover. */
export const registerUsed = (cur: string, prev: string): RawBuilder<unknown> => sql.raw(
  `(CASE WHEN ${prev} - ${cur} > ${REGISTER_WRAP / 2} AND ${prev} < ${REGISTER_WRAP} THEN ${cur} - ${prev} + ${REGISTER_WRAP} ELSE ${cur} - ${prev} END)`);
