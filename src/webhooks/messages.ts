/**
 * What travels on the webhook queue. A `dispatch` says "events may have been recorded": the
 * consumer fans every event past the dispatch cursor out to its endpoints. A `deliver` names one
 * delivery to attempt (when it is due: a message that arrives early is sent again for the rest of
 * the wait, which is how waits beyond the queue's 12-hour delay limit are chained).
 */
export type WebhookMessage = { kind: "dispatch" } | { kind: "deliver"; id: string };
