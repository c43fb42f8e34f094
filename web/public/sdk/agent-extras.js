// The agent's REST calls besides its conversations' logs (api.md): its routing state
// (docs/routing.md), and what the console shows beside the chat: the search of closed
// conversations, the visitor's context, the customer's other conversations, canned replies.
// PorchAgent's methods of the same names call these; conversations they return become known
// to `conversation(id)` and `open(id)`.

import { request } from './http.js';
import { LIMITS, PATHS } from './wire.gen.js';

const API = `${PATHS.agentApi}/conversations`;
const STATUS = `${PATHS.agentApi}/status`;

/** @typedef {import('./agent.js').PorchAgent} PorchAgent */
/** @typedef {import('./porch.js').Conversation} Conversation */

/** @param {PorchAgent} agent @returns {Promise<import('./porch.js').AgentRoutingState>} */
export async function routing(agent) {
  const state = await agent._api('GET', STATUS);
  agent._setStatus(state.status);
  return state;
}

/**
 * @param {PorchAgent} agent
 * @param {'available' | 'away'} status
 * @returns {Promise<import('./porch.js').AgentRoutingState>}
 */
export async function setStatus(agent, status) {
  const state = await request(agent._fetch, agent._baseUrl, 'PUT', STATUS, { token: agent.session.accessToken, json: { status } });
  agent._setStatus(state.status);
  return state;
}

/**
 * `GET …/search`: the agent's queues' closed conversations (or those of `state`) whose
 * guest's name or email, or a message, contains `q`.
 * @param {PorchAgent} agent
 * @param {{q?: string, state?: string, before?: string, limit?: number}} [options]
 * @returns {Promise<{conversations: Conversation[], hasMore: boolean}>}
 */
export async function search(agent, { q, state, before, limit } = {}) {
  const query = params({ q, state, before, limit });
  return known(agent, await agent._api('GET', `${API}/search?${query}`));
}

/**
 * `GET …/{id}/customer`: the same customer's conversations, newest first.
 * @param {PorchAgent} agent
 * @param {string} id
 * @param {{before?: string, limit?: number}} [options]
 * @returns {Promise<{conversations: Conversation[], hasMore: boolean}>}
 */
export async function customerConversations(agent, id, { before, limit } = {}) {
  const query = params({ before, limit });
  return known(agent, await agent._api('GET', `${API}/${encodeURIComponent(id)}/customer?${query}`));
}

/** `GET …/{id}/visitor`. @param {PorchAgent} agent @param {string} id @returns {Promise<import('./porch.js').VisitorContext>} */
export function visitor(agent, id) {
  return agent._api('GET', `${API}/${encodeURIComponent(id)}/visitor`);
}

/** `GET …/{id}/canned-replies`. @param {PorchAgent} agent @param {string} id @returns {Promise<import('./porch.js').CannedReply[]>} */
export async function cannedReplies(agent, id) {
  return (await agent._api('GET', `${API}/${encodeURIComponent(id)}/canned-replies`)).replies;
}

/** @param {Record<string, string | number | undefined>} values */
function params(values) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v) query.set(k, String(v));
  return query;
}

/** Conversations listed here become known (without replacing a live summary). */
/** @param {PorchAgent} agent @param {{conversations: Conversation[], hasMore: boolean}} page */
function known(agent, page) {
  for (const c of page.conversations) if (!agent._summaries.has(c.id)) agent._summaries.set(c.id, c);
  return page;
}

/**
 * A conversation's verb (`POST …/{verb}`: assign, close, transfer, unassign); the conversation
 * it answers becomes the agent's copy.
 * @param {PorchAgent} agent @param {string} id @param {'assign' | 'close' | 'transfer' | 'unassign'} verb
 * @param {object} [json] the body, if any @returns {Promise<Conversation>}
 */
export async function action(agent, id, verb, json) {
  const conversation = await agent._api('POST', `${API}/${encodeURIComponent(id)}/${verb}`, json);
  agent._upsert(conversation);
  return conversation;
}

/** Where a conversation's files go and are read (docs/attachments.md). @param {PorchAgent} agent @param {string} conversationId */
export function attachTarget(agent, conversationId) {
  return { fetch: agent._fetch, baseUrl: agent._baseUrl, token: agent.session.accessToken, path: `${API}/${encodeURIComponent(conversationId)}/attachments` };
}

/**
 * Pages a followed conversation forward from its lastSeq until nothing is missing; one run per
 * conversation at a time (a second call joins the one running).
 * @param {PorchAgent} agent @param {string} id @returns {Promise<void>}
 */
export function fill(agent, id) {
  const running = agent._filling.get(id);
  if (running) return running;
  const run = (async () => {
    try {
      for (let page = 0; page < 10_000; page += 1) {
        const log = agent._logs.get(id);
        if (!log?.anchored) return;
        const got = await agent._api('GET', `${API}/${encodeURIComponent(id)}/messages?after=${log.lastSeq}&limit=${LIMITS.historyPageMax}`);
        for (const m of got.messages) agent._release(id, log.insert(m));
        if (!got.hasMore || !got.messages.length) break;
      }
    } catch (e) {
      agent.emit('error', /** @type {import('./errors.js').PorchError} */ (e));
    } finally {
      agent._filling.delete(id);
    }
  })();
  agent._filling.set(id, run);
  return run;
}
