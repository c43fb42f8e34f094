// A guest's closed conversation (docs/routing.md, "Reopen"). Within its reopen window
// (`reopenUntilMs`, from `ready` and `conversation` frames) a close is not final: the saved
// session, the socket and the outbox stay, and a `send` reopens the conversation on the
// server. Once the window has gone by (or a send is refused `conversation_closed`, or the
// server gives no window) the close is final: the session is forgotten, the socket stops and
// unsent messages are dropped. Kept apart from guest.js, which runs the session.

import { closedError } from './guest-session.js';

/** How long a closing entry waits for the `conversation` frame that says until when it can
 * be reopened (the server sends it right after the entry); without it, the close is final. */
export const CLOSE_FRAME_WAIT_MS = 5_000;
/** `setTimeout`'s longest delay; a longer window waits in several steps. */
const TIMER_MAX_MS = 2 ** 31 - 1;

/** @typedef {import('./porch.js').Conversation} Conversation @typedef {import('./porch.js').Message} Message */

export class CloseWindow {
  /** @param {import('./guest.js').PorchGuest} guest */
  constructor(guest) {
    this._guest = guest;
    /** True once the close is final: nothing reopens the conversation from this client. */
    this.final = false;
    /** @type {ReturnType<typeof setTimeout> | null} the window's end */ this._timer = null;
    /** @type {ReturnType<typeof setTimeout> | null} a closing entry's wait for its frame */ this._waiting = null;
  }

  /**
   * Follows the conversation as `ready` or a `conversation` frame tells it: closed (within
   * its window or for good), or open again after a reopen.
   * @param {Conversation | null} conversation
   */
  follow(conversation) {
    if (!conversation) return;
    this._stopWaiting();
    if (conversation.state === 'closed') this.close(conversation.reopenUntilMs ?? null);
    else if (this._guest.closed) this._reopened();
  }

  /** Follows entries released in order: the last one that changes state decides.
   * @param {Message[]} messages */
  entries(messages) {
    const last = [...messages].reverse().find((m) => m.sender?.role === 'system' && m.event);
    if (!last) return;
    if (last.event !== 'closed') {
      // A replay may bring a close and its reopen one entry at a time.
      this._stopWaiting();
      if (this._guest.closed) this._reopened(/** @type {import('./porch.js').ConversationState} */ (last.event));
      return;
    }
    if (this._guest.closed || this._waiting) return;
    // The `conversation` frame that follows says until when it can be reopened.
    this._waiting = setTimeout(() => { this._waiting = null; this.close(null); }, CLOSE_FRAME_WAIT_MS);
  }

  /**
   * The conversation is closed: until `untilMs` (epoch ms) writing reopens it; without it, or
   * once it is past, the close is final. `closed` is emitted when it closes and again when the
   * close becomes final.
   * @param {number | null} untilMs
   */
  close(untilMs) {
    if (this.final) return;
    const g = this._guest;
    if (untilMs === null || !(untilMs > Date.now())) return this.toFinal();
    const first = !g.closed;
    g.closed = true;
    g.reopenUntilMs = untilMs;
    this._markClosed();
    this._arm(untilMs);
    if (first) g.emit('closed', { conversation: g.conversation, unsent: [], reopenUntilMs: untilMs, final: false });
  }

  /**
   * The close is final, however the client learned it (the window passed, a send was refused,
   * `ready` after a reconnect or a reload, no window at all): the saved session is forgotten (a
   * reload starts afresh), the socket and timers stop, and unsent messages are dropped and
   * reported in `closed.unsent`. Emitted once; the messages stay readable.
   */
  toFinal() {
    if (this.final) return;
    const g = this._guest;
    this.final = true;
    this.clear();
    g.closed = true;
    g.reopenUntilMs = null;
    this._markClosed();
    g._saved.clear();
    g._refresh.clear();
    const unsent = g._sends.dropAll(closedError());
    g._conn?.stop('the conversation is closed');
    g.emit('closed', { conversation: g.conversation, unsent, reopenUntilMs: null, final: true });
  }

  /** Stops the timers (the guest ended, or the close went final). */
  clear() {
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
    this._stopWaiting();
  }

  /** Learned from an entry, before (or instead of) the `conversation` frame. */
  _markClosed() {
    const g = this._guest;
    g._typingIn.clear();
    if (g.conversation && g.conversation.state !== 'closed') {
      g.conversation = { ...g.conversation, state: 'closed' };
      g.emit('conversation', g.conversation);
    }
  }

  /** A send reopened it (this guest's, or one from another tab): open as before.
   * @param {import('./porch.js').ConversationState} [state] where its entry took it */
  _reopened(state) {
    const g = this._guest;
    this.clear();
    g.closed = false;
    g.reopenUntilMs = null;
    if (state && g.conversation && g.conversation.state !== state) {
      const { reopenUntilMs: _gone, ...open } = g.conversation;
      g.conversation = { ...open, state };
      g.emit('conversation', g.conversation);
    }
    g.emit('reopened', { conversation: g.conversation });
  }

  /** @param {number} untilMs */
  _arm(untilMs) {
    if (this._timer) clearTimeout(this._timer);
    const waitMs = Math.min(untilMs - Date.now(), TIMER_MAX_MS);
    this._timer = setTimeout(() => {
      this._timer = null;
      if (Date.now() >= untilMs) this.toFinal();
      else this._arm(untilMs);
    }, Math.max(waitMs, 0));
  }

  _stopWaiting() {
    if (this._waiting) clearTimeout(this._waiting);
    this._waiting = null;
  }
}
