// What an agent's client does with each live frame of the gateway (protocol.md): logs and
// lists for conversations, the outbox for acks and refusals, offers, its own status, and, for
// supervisors, every agent's status and load (`agent`, emitted as it comes: the frame is the
// agent as stored, and the supervisor's overview is read again after every `ready`).

import { PorchError } from './errors.js';
import { splitRef } from './util.js';

/**
 * @param {import('./agent.js').PorchAgent} agent
 * @param {any} frame a frame of protocol.md
 */
export function onFrame(agent, frame) {
  switch (frame.type) {
    case 'message': agent._onMessage(frame.message); break;
    case 'conversation': agent._upsert(frame.conversation); break;
    case 'ack':
      agent._sends.settle(frame.clientMessageId, frame.message);
      agent.emit('ack', { clientMessageId: frame.clientMessageId, message: frame.message, duplicate: frame.duplicate });
      break;
    case 'typing':
      agent._typingIn.typing(`${frame.conversationId} ${frame.participant?.id}`, frame.participant);
      break;
    case 'read': agent.emit('read', { conversationId: frame.conversationId, participant: frame.participant, seq: frame.seq }); break;
    case 'status': agent._setStatus(frame.status); break;
    case 'offer': agent._offers.offered(frame); break;
    case 'offerEnded': agent._offers.ended(frame); break;
    case 'agent': if (frame.agent?.id) agent.emit('agent', frame.agent); break;
    case 'error': onError(agent, frame); break;
    default: break;
  }
}

/** An `error` frame: a refused send settles its outbox entry, a refused answer its offer. */
/** @param {import('./agent.js').PorchAgent} agent @param {any} frame */
function onError(agent, frame) {
  const { message, ref } = splitRef(frame.message);
  const error = new PorchError({ code: frame.code, message, ref, clientMessageId: frame.clientMessageId });
  const resend = (/** @type {import('./porch.js').OutboxEntry} */ e) => agent._conn?.send({ type: 'send', conversationId: e.conversationId, clientMessageId: e.clientMessageId, text: e.text });
  error.retryInMs = agent._sends.refuseFrame(frame, error, resend);
  if (!frame.clientMessageId) agent._offers.refused(error);
  agent.emit('error', error);
}
