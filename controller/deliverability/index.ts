/** Deliverability checks: a site's mail records as its authoritative name servers publish them. */
export {
  type Authority,
  AuthorityLookupError,
  clientNsLookup,
  findAuthority,
  type NsLookup,
  systemNsLookup,
} from "./authority";
export {
  DeliverabilityChecker,
  type DeliverabilityCheckerOptions,
  type DeliverabilityReport,
  type DnsQuerier,
  describeUnverified,
  type ExpectedRecord,
  type RecordCheck,
  type RecordState,
  WAIT_DEFAULTS,
  type WaitOptions,
  type WaitResult,
} from "./checker";
export { DnsClient, DnsQueryError, type NameServer } from "./dns-client";
