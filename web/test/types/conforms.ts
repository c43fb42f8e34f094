// porch.d.ts is written by hand (its events, overloads and comments are what users read), and
// this file holds it to the implementation: `tsc -p web` fails when a declared export, member
// or signature is missing from the JavaScript, or has a type the JavaScript does not satisfy.
// The modules are imported one by one because `porch.js` itself resolves to `porch.d.ts`.

import type * as Declared from '../../public/sdk/porch.js';
import { PorchAgent } from '../../public/sdk/agent.js';
import { backoffDelay, reconnectDelay, sessionRetryDelay } from '../../public/sdk/backoff.js';
import { classifyClose, parseReason } from '../../public/sdk/close-codes.js';
import { MARKER } from '../../public/sdk/connection.js';
import { PorchError } from '../../public/sdk/errors.js';
import { PorchGuest } from '../../public/sdk/guest.js';
import { Outbox, newClientMessageId } from '../../public/sdk/outbox.js';
import { refreshDelay } from '../../public/sdk/refresh.js';
import { SeqLog } from '../../public/sdk/seq-log.js';
import { defaultStorage, memoryStorage } from '../../public/sdk/storage.js';
import { API_VERSION, CLOSE_REASON_BYTES_MAX, ERRORS, LIMITS, PATHS, PROTOCOL_MARKER, RECONNECT_RULES } from '../../public/sdk/wire.gen.js';

// What porch.js exports, as it lists them (web/test/sdk-logic.test.mjs checks the names).
// An object literal: a name declared but not implemented is a missing property, one
// implemented but not declared an excess property; both fail.
export const implementation: typeof Declared = {
  PorchGuest,
  PorchAgent,
  PorchError,
  memoryStorage,
  defaultStorage,
  backoffDelay,
  reconnectDelay,
  sessionRetryDelay,
  classifyClose,
  parseReason,
  refreshDelay,
  SeqLog,
  Outbox,
  newClientMessageId,
  MARKER,
  API_VERSION,
  PROTOCOL_MARKER,
  CLOSE_REASON_BYTES_MAX,
  PATHS,
  RECONNECT_RULES,
  ERRORS,
  LIMITS,
};

// The instances, member by member (the classes above are checked as constructors).
export const guest = (g: PorchGuest): Declared.PorchGuest => g;
export const agent = (a: PorchAgent): Declared.PorchAgent => a;
export const error = (e: PorchError): Declared.PorchError => e;
export const outbox = (o: Outbox): Declared.Outbox => o;
export const seqLog = (l: SeqLog<Declared.Message>): Declared.SeqLog<Declared.Message> => l;

// The events the implementation emits are exactly the declared ones, payloads included.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type EventsOf<T> = T extends { emit(type: infer K, payload: never): void } ? K : never;
export const guestEvents: Same<EventsOf<PorchGuest>, keyof Declared.GuestEvents> = true;
export const agentEvents: Same<EventsOf<PorchAgent>, keyof Declared.AgentEvents> = true;

// And the other way: every public member of the implementation is declared, so nothing a user
// can reach is missing from the d.ts. Members named `_…` are internal; `emit` is the clients'
// own, for their events (users listen with `on`, they do not emit). An undeclared member shows
// as "Property 'name' is missing in type '{}'".
type Public<T> = { [K in keyof T as K extends `_${string}` ? never : K]: T[K] };
type Undeclared<Impl, Decl> = Record<Exclude<keyof Public<Impl>, keyof Decl | 'emit'>, never>;
export const guestMembers: Undeclared<PorchGuest, Declared.PorchGuest> = {};
export const agentMembers: Undeclared<PorchAgent, Declared.PorchAgent> = {};
export const errorMembers: Undeclared<PorchError, Declared.PorchError> = {};
export const outboxMembers: Undeclared<Outbox, Declared.Outbox> = {};
export const seqLogMembers: Undeclared<SeqLog<Declared.Message>, Declared.SeqLog<Declared.Message>> = {};
