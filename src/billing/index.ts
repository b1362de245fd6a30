/** Billing context: tariffs as data, set-based billing runs, review (核), bill documents and quotes. */
export { billingRoutes } from './api/routes.ts';
export { registerBillingCommands } from './cli.ts';
export { runBilling, openBillingRun, continueBillingRun, runToDto, DEFAULT_CHUNK_SIZE, type BillingRunOptions } from './runs.ts';
export { releaseBill, correctBill, voidBill, type Correction, type ReviewOutcome } from './review.ts';
export { rateOne, type RatingInput, type RatedLine } from './store/rating.ts';
export { findBill, linesOf, holdsOf, listCustomerBills, listHeldBills, billCoversFrom, billIdsCoveringFrom } from './store/bills.repository.ts';
export { listTariffs, findTariff } from './store/tariffs.repository.ts';
export { findRun, findCycle } from './store/run.repository.ts';
export { billHtml, billPdf } from './document/bill-document.ts';
export { periodBounds, addMonths, tierYearStart, type PeriodBounds } from './domain/period.ts';
export type { BillingRunRow, BillingCycleRow } from './store/run.repository.ts';
export type { BillRow, BillLineRow, BillHoldRow } from './store/bills.repository.ts';
export { cyclesReadOn } from './store/run.repository.ts';
