/**
 * Payments (收费): account ledger, exactly-once payments, allocation to the oldest debt with its late fee
 * (违约金), prepaid balance, reversal, statements, bank reconciliation.
 *
 * SQL contract for other contexts: `payments_open_debt(p_as_of date)` returns every bill with money owed as
 * of that date (customer_id, bill_id, bill_no, period, due_date, outstanding, late_fee); the `account` table
 * has one row per customer and is the lock point (see lockAccountsForShare).
 */
export { lockAccountsForShare, openMissingAccounts } from './store/accounts.repository.ts';
export {
  openBillsAsOf, paidBills, statementFor, ledgerEntries, arrearsByAge,
  type OpenBill, type PaidBill, type Statement, type StatementLine, type LedgerEntry, type ArrearsBand, type OccupancyCut,
} from './store/statement.repository.ts';
export { postDebits, postDebitsFrom, type DebitRow, type PostDebitsResult } from './store/debits.repository.ts';
export { postPayment, postPayments, settleOutcome, reversePayment, getPayment, listPayments, type Payment, type PostOutcome } from './store/payments.repository.ts';
export { PaymentPostQueue } from './store/post-queue.ts';
export { validatePayment, PAYMENT_CHANNELS, type PaymentChannel, type PaymentInput } from './domain/payment-input.ts';
export { paymentsRoutes } from './api/routes.ts';
export { registerPaymentsCommands } from './cli.ts';
export { importPayments, postPaymentBatch, type ImportReport, type BatchPostResult, type RowRejection } from './store/import.repository.ts';
export { reconcileSettlement, getReconciliation, listReconciliations, type ReconciliationRun, type ReconciliationItem } from './store/reconciliation.repository.ts';
export { issueChannelToken } from './store/channel-token.ts';
