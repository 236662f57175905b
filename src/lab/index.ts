/**
 * The NAT lab: network namespaces and nftables rulesets that reproduce the four classic NAT
 * behaviours on one Linux machine (root only), for tests, benchmarks and `porthole lab`.
 * @module
 */
export type { ReadJsonLineOptions } from './child-output.ts';
export { readJsonLine } from './child-output.ts';
export type { CleanupLabsOptions } from './cleanup.ts';
export { cleanupLabs, listNamespaces } from './cleanup.ts';
export type { LabErrorCodeValue } from './errors.ts';
export {
  LabCommandError,
  LabErrorCode,
  LabExistsError,
  LabNetemUnsupportedError,
  LabUnsupportedError,
} from './errors.ts';
export type { ConntrackTimeouts, NatLabOptions } from './nat-lab.ts';
export { NatLab } from './nat-lab.ts';
export type { NetemOptions } from './netem.ts';
export { natRuleset } from './rulesets.ts';
export type { LabSupport } from './support.ts';
export { checkLabSupport, isLabSupported, missingTool } from './support.ts';
export type { RunToolOptions, ToolOutput } from './tools.ts';
export type { LabNode, NatType } from './topology.ts';
export {
  baseNatType,
  hostAddress,
  INTERNET_ADDRESSES,
  isLabNode,
  isNatType,
  LabNatType,
  NAT_TYPES,
  natWanAddress,
  OPEN_HOST_ADDRESS,
} from './topology.ts';
export { UplinkKind } from './uplink.ts';
export type { UplinkDirectionStats, UplinkRelayStats } from './uplink-relay.ts';
export { checkUplinkRelaySupport, UPLINK_RELAY_QUEUE_CAP } from './uplink-relay.ts';
