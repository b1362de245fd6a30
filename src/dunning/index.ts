/**
 * Dunning context (催费): policies as data, the daily decision of which notice is due, the notices
 * outbox and its dispatcher over SMS / voice / email / cable-TV with receipts, and the hand-overs
 * to people and meters (the flows in src/flows/dunning-*.ts open the tasks).
 */
export * from './domain/policy.ts';
export { loadPolicies, updatePolicy, type DunningPolicyRow, type DunningPolicyStepRow } from './store/policy.repository.ts';
export {
  analyzeOpenDebt, beginDunningRun, cancelPaidNotices, decideNotices, endDunningRun, snapshotOpenDebt, withRunMemory, type DecidedCount,
} from './store/run.repository.ts';
export * from './store/escalation.repository.ts';
export {
  requestSwitches, claimPendingSwitches, markSwitch, listSwitchCommands, switchRequestKey, switchFallbackKey, reconnectDeadline,
  type RemoteSwitchCommandRow, type SwitchRequest, type SwitchAction, type SwitchStatus,
} from './store/switch.repository.ts';
export { customerNotices, listNotices, channelHealth, listEscalations, type NoticeView, type AttemptView, type ChannelHealthRow, type EscalationView } from './store/queries.repository.ts';
export { startDispatcher, type Dispatcher, type DispatcherOptions } from './dispatch/dispatcher.ts';
export { callbackChannelFor } from './dispatch/registry.ts';
export { dunningRoutes } from './api/routes.ts';
export { registerDunningCommands } from './cli.ts';
export {
  startChannelSimulators, channelsFor, channelCallbackRoutes, createSmppChannel, startChannelSimulatorsWorker, simulatorCounters,
  type Channel, type ChannelKind, type ChannelSet, type ChannelSimulators, type DeliveryReport, type ChannelSimulatorsWorker,
} from './channels/index.ts';
