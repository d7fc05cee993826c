/** The Mailcow API double: see README.md in this folder. */
export {
  FaultControl,
  type FaultKind,
  type FaultRule,
  type MailcowDouble,
  type MailcowDoubleOptions,
  type RecordedRequest,
  type RequestFilter,
  startMailcowDouble,
} from "./server";
export {
  type DoubleDkim,
  type DoubleDomain,
  type DoubleMailbox,
  type Entry,
  intval,
  MailcowDoubleState,
} from "./state";
