// Porch browser SDK: one ES module, no dependencies, no build step.
//
//   import { PorchGuest } from 'https://chat.example.com/sdk/porch.js';
//   const chat = new PorchGuest({ session });          // session: from your backend
//   chat.on('message', (m) => show(m));
//   await chat.start();
//   await chat.send('Hello!');
//
// docs/sdk.md describes the lifecycle; porch.d.ts has the types.

export { PorchGuest } from './guest.js';
export { PorchAgent } from './agent.js';
export { PorchError } from './errors.js';
export { memoryStorage, defaultStorage } from './storage.js';
// The pure pieces, for builders who write their own client on top.
export { backoffDelay, reconnectDelay, sessionRetryDelay } from './backoff.js';
export { classifyClose, parseReason } from './close-codes.js';
export { refreshDelay } from './refresh.js';
export { SeqLog } from './seq-log.js';
export { Outbox, newClientMessageId } from './outbox.js';
export { MARKER } from './connection.js';
// The wire contract, generated from porch-wire (scripts/regen-sdk-wire.sh).
export { API_VERSION, PROTOCOL_MARKER, CLOSE_REASON_BYTES_MAX, PATHS, RECONNECT_RULES, ERRORS, LIMITS } from './wire.gen.js';
