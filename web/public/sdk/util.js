// Small helpers shared by the guest and agent clients.

/**
 * The gateway URL with `afterSeq` (protocol.md, "Resume"); unchanged for null.
 * @param {string} gatewayUrl
 * @param {number | null} afterSeq
 */
export function withAfterSeq(gatewayUrl, afterSeq) {
  if (afterSeq === null || afterSeq === undefined) return gatewayUrl;
  const url = new URL(gatewayUrl);
  url.searchParams.set('afterSeq', String(afterSeq));
  return url.toString();
}

/**
 * Splits `cause and fix [ref abc123]` (error frames end with the log reference).
 * @param {string} text
 */
export function splitRef(text) {
  const m = /^([\s\S]*?)(?: \[ref ([A-Za-z0-9]+)\])?$/.exec(String(text ?? ''));
  return { message: m?.[1] ?? String(text), ref: m?.[2] ?? null };
}

/**
 * The deployment's notice from a `ready` or `notice` frame, if it differs from the one held.
 * Compared by id (each PUT makes a new one), so a reconnect that finds the same notice, or
 * a server resending it after a lag, changes nothing. Returns `undefined` for "no change".
 * @template {{id: string}} N
 * @param {N | null} current
 * @param {N | null | undefined} next absent in `ready` means none
 * @returns {N | null | undefined}
 */
export function noticeChange(current, next) {
  const notice = next ?? null;
  return (notice?.id ?? null) === (current?.id ?? null) ? undefined : notice;
}

/**
 * A guest's pick of a bot's quick reply (docs/bots.md), as a `POST .../guests/messages` body:
 * the label as text, and the choice naming the bot message's seq and the reply's id. The pick
 * is one click, so its id is the bot message's and the reply's: clicking again is a duplicate.
 * @param {{seq: number, id: string}} message
 * @param {{id: string, label: string}} reply
 */
export function choiceBody(message, reply) {
  return {
    clientMessageId: `pick-${message.id}-${reply.id}`.slice(0, 128),
    text: reply.label,
    choice: { seq: message.seq, id: reply.id },
  };
}
