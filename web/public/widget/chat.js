// The widget's behaviour: one PorchGuest drawn into the view. What visitors see is plain
// language from the string table; every cause and fix for the page's builder goes to the
// browser console and to the host page's `error` event (diagnose.js).

import { PorchGuest } from '../sdk/porch.js';
import { explain, fixFor, isSetupProblem } from './diagnose.js';
import { bindFiles, sendFile } from './files.js';
import { messageElement, placeMessage, setState } from './messages.js';
import { OfflineForm } from './offline.js';
import { fitInput, followEnd, queuePlace, replyTime, showAvatar, showNotice } from './view.js';

/** Distinct problems reported to the console between two good connections, at most. */
const REPORTS_MAX = 20;

/** @typedef {import('../sdk/porch.js').GuestEvents} GuestEvents */
/** @typedef {import('../sdk/porch.js').Message} Message */
/** @typedef {import('../sdk/porch.js').PorchError} PorchError */

export class Chat {
  /**
   * @param {object} o
   * @param {ReturnType<typeof import('./view.js').buildView>} o.view
   * @param {ReturnType<typeof import('./strings.js').stringsFor>} o.s
   * @param {{baseUrl: string, deployment: string, guest: import('../sdk/porch.js').GuestDetails, storage?: import('../sdk/porch.js').StorageLike}} o.config
   * @param {(type: string, detail: object) => void} o.emit the host page's events
   * @param {import('./attention.js').Attention} o.attention the tone and title count
   * @param {{remember: (key: string, value: string | null) => void, recall: (key: string) => string | null}} o.tab
   */
  constructor({ view, s, config, emit, attention, tab }) {
    this.view = view;
    this.s = s;
    this.config = config;
    this.emit = emit;
    this.attention = attention;
    this.tab = tab;
    this.log = followEnd(view.log);
    this.unread = 0;
    /** Up to where an agent has read this conversation (their `read` frames). */
    this.agentRead = 0;
    /** @type {string | null} */
    this.agentName = null;
    /** @type {import('../sdk/porch.js').Welcome | null} */
    this.welcome = null;
    /** @type {Set<string>} the problems reported since the last good connection */
    this.reported = new Set();
    /** The host page asked to open before the launcher showed. */
    this.openWanted = false;
    this.guest = this.newGuest();
    this.offline = new OfflineForm(view, s, (answer) => this.sendOffline(answer));
    this.bindControls();
  }

  get openKey() { return `porch:widget:${this.config.deployment}:open`; }
  get checkedKey() { return `porch:widget:${this.config.deployment}:checked`; }
  /** The email the offline form was sent with, so a reload still says where the answer goes. */
  get sentKey() { return `porch:widget:${this.config.deployment}:offline-sent`; }
  isOpen() { return !this.view.panel.hidden; }

  /** At page load: a saved session resumes at once; a new visitor's page is checked first
   * (once per tab: the gateway probe costs a connection), and has no launcher if it cannot
   * work. An unreachable Porch is not the page's fault: the launcher shows, and what the
   * visitor writes is sent once Porch answers. */
  load() {
    if (this.guest.hasSavedSession()) {
      const sentTo = this.tab.recall(this.sentKey);
      // The session may still be to create (a reload while it was): it carries the form's email.
      if (sentTo) {
        this.config.guest = { ...this.config.guest, email: sentTo };
        this.offline.confirm(sentTo);
      }
      this.showLauncher();
      this.startGuest();
      return;
    }
    // Its chat was forgotten (closed, then reloaded): so is where its answer was to go.
    this.tab.remember(this.sentKey, null);
    const checked = this.tab.recall(this.checkedKey);
    const check = checked ? this.guest.peekNotice() : this.guest.check().then(() => this.tab.remember(this.checkedKey, '1'));
    check.then(() => this.showLauncher(), (e) => {
      const setup = isSetupProblem(e);
      this.report(e, setup ? 'error' : 'warn');
      if (!setup) this.showLauncher();
    });
  }

  showLauncher() {
    this.view.launcher.hidden = false;
    if (this.openWanted || this.tab.recall(this.openKey)) this.open();
  }

  /** The details a new session is created with. An identity token is good once (its `jti`):
   * handed out, it is gone, so "Start a new chat" opens an anonymous session rather than a
   * refused one; the page calls `identify` with a fresh token to name the visitor again. */
  takeDetails() {
    const { identityToken, ...rest } = this.config.guest;
    if (identityToken) this.config.guest = rest;
    return identityToken ? { ...rest, identityToken } : rest;
  }

  newGuest() {
    // The visitor's details as the page set them when the conversation starts (setAttributes).
    const g = new PorchGuest({ baseUrl: this.config.baseUrl, deploymentId: this.config.deployment, guest: () => this.takeDetails(), storage: this.config.storage });
    // A chat the visitor left ("Start a new chat") may still finish a page of history: not here.
    /**
     * @template {keyof GuestEvents} K
     * @param {K} type
     * @param {(payload: GuestEvents[K]) => void} fn
     */
    const on = (type, fn) => g.on(type, (payload) => { if (g === this.guest) fn(payload); });
    on('message', (m) => this.onMessage(g, m));
    on('history', ({ messages, hasOlder }) => {
      for (const m of messages) this.place(g, m);
      this.view.older.hidden = !hasOlder;
      this.renderSubtitle();
    });
    on('outbox', ({ pending }) => this.renderPending(pending));
    on('typing', ({ participant, active }) => {
      if (participant?.displayName) this.agentName = participant.displayName;
      this.view.typing.textContent = !active ? '' : participant?.displayName ? this.s.t('typing', { name: participant.displayName }) : this.s.t('agentTyping');
    });
    on('state', ({ state }) => {
      if (state === 'open') {
        this.setStatus('');
        this.reported.clear();
      } else if (state === 'reconnecting') this.setStatus(this.s.t('reconnecting'));
    });
    on('error', (e) => this.onError(g, e));
    on('read', ({ participant, seq }) => {
      if (participant?.role !== 'agent' || seq <= this.agentRead) return;
      this.agentRead = seq;
      this.markSeen();
    });
    on('conversation', () => this.renderSubtitle());
    on('ready', () => this.renderSubtitle());
    on('queue', () => this.renderSubtitle());
    // Within the reopen window the composer stays: writing again reopens the chat.
    on('closed', ({ unsent, final }) => {
      for (const e of unsent) this.markFailed(e.clientMessageId);
      if (final) this.showEnded(this.s.t('ended'), true);
      else this.showReopenable();
    });
    on('reopened', () => this.hideEnded());
    // The deployment's notice (opening hours, an outage): a banner at the top of the panel.
    on('notice', (n) => showNotice(this.view.notice, n));
    // Its greeting and usual reply time, for a visitor who has not written yet.
    on('welcome', (w) => {
      this.welcome = w;
      this.renderGreeting();
      this.renderSubtitle();
      if (this.nobodyToAnswer(g)) this.offline.show(this.config.guest.email);
    });
    return g;
  }

  /** @param {PorchGuest} g @param {Message} m */
  onMessage(g, m) {
    this.place(g, m);
    this.markSeen();
    if (m.sender?.role === 'agent' || m.sender?.role === 'bot') {
      if (m.sender.role === 'agent' && m.sender.displayName) this.agentName = m.sender.displayName;
      if (this.isOpen() && document.visibilityState === 'visible') g.markRead(m.seq);
      else this.setUnread(this.unread + 1);
      this.attention.reply();
    }
    this.renderSubtitle();
    if (m.sender?.role !== 'system') {
      this.emit('message', { seq: m.seq, text: m.text, createdAtMs: m.createdAtMs, sender: { role: m.sender?.role, displayName: m.sender?.displayName ?? null }, mine: m.sender?.id === g.guestId });
    }
  }

  /** @param {PorchGuest} g @param {Message} m */
  place(g, m) {
    this.view.log.querySelector(`.pending[data-client-message-id="${CSS.escape(m.clientMessageId ?? '')}"]`)?.remove();
    if (m.seq && this.view.log.querySelector(`[data-seq="${m.seq}"]`)) return;
    const choose = (/** @type {import('../sdk/porch.js').QuickReply} */ reply) => g.choose(m, reply);
    const urlOf = (/** @type {string} */ id) => g.attachmentUrl(id);
    placeMessage(this.view.log, messageElement(m, { mine: m.sender?.id === g.guestId, s: this.s, choose, urlOf }));
    this.renderGreeting();
  }

  /** The offline form's moment: nobody can answer, the deployment wants the form, and this
   * visitor has not started a conversation (nothing sent, nothing waiting to be).
   * @param {PorchGuest} g */
  nobodyToAnswer(g) {
    const w = this.welcome;
    return Boolean(w?.offlineForm && !w.agentsAvailable) && g.state === 'idle' && !g.conversationId && this.view.log.childElementCount === 0;
  }

  /** The offline form was sent: the session starts with the email, the message goes into the
   * queue as any first message does, and the panel says the answer comes by email.
   * @param {{email: string, text: string}} answer */
  sendOffline({ email, text }) {
    this.config.guest = { ...this.config.guest, email };
    this.offline.confirm(email);
    this.tab.remember(this.sentKey, email);
    this.view.input.value = text;
    this.send();
    this.view.input.focus();
  }

  /** The deployment's greeting, above an empty conversation: gone once there is a message. */
  renderGreeting() {
    const greeting = this.welcome?.greeting;
    this.view.greeting.textContent = greeting ?? '';
    this.view.greeting.hidden = !greeting || this.view.log.childElementCount > 0;
  }

  /** @param {PorchGuest} g @param {PorchError} e */
  onError(g, e) {
    this.report(e);
    if (e.fatal) {
      this.showEnded(this.s.t(isSetupProblem(e) ? 'unavailable' : 'expired'), !isSetupProblem(e));
    } else if (e.clientMessageId && !g.pending.some((p) => p.clientMessageId === e.clientMessageId)) {
      this.markFailed(e.clientMessageId);
      const tooLong = e.code === 'text_too_long' || e.code === 'message_too_big';
      this.setStatus(this.s.t(tooLong ? 'tooLong' : 'notSentStatus'), true);
    }
  }

  /** The cause and fix, once per problem until the next good connection: to the console
   * (error when it stops the chat, warn while the SDK keeps trying) and to the host page.
   * @param {PorchError} e
   * @param {'warn' | 'error'} [level]
   */
  report(e, level = !e.fatal && e.retryInMs !== null && e.retryInMs !== undefined ? 'warn' : 'error') {
    if (e.code === 'ended') return;
    const key = `${e.code}:${e.detail}`;
    if (this.reported.has(key)) return;
    if (this.reported.size >= REPORTS_MAX) this.reported.clear();
    this.reported.add(key);
    const where = { deployment: this.config.deployment, origin: location.origin, baseUrl: this.config.baseUrl };
    console[level](explain(e, where));
    this.emit('error', { code: e.code, message: e.detail, ref: e.ref ?? null, fatal: Boolean(e.fatal) || isSetupProblem(e), fix: fixFor(e, where) || null });
  }

  /** Adds a bubble per unsent message. It goes when the stored message arrives (the ack can
   * come first: removing it then would make the text blink), or when the send is refused.
   * @param {import('../sdk/porch.js').OutboxEntry[]} pending
   */
  renderPending(pending) {
    for (const p of pending) {
      if (this.view.log.querySelector(`[data-client-message-id="${CSS.escape(p.clientMessageId)}"]`)) continue;
      placeMessage(this.view.log, messageElement({ ...p, sender: { role: 'guest' } }, { mine: true, pending: true, s: this.s }));
    }
    this.renderGreeting();
  }

  /** @param {string} clientMessageId */
  markFailed(clientMessageId) {
    const el = /** @type {HTMLElement | null} */ (this.view.log.querySelector(`.pending[data-client-message-id="${CSS.escape(clientMessageId)}"]`));
    if (!el) return;
    el.classList.replace('pending', 'failed');
    setState(el, this.s.t('notSent'));
  }

  /** "seen" on the guest's own messages an agent has read. */
  markSeen() {
    for (const el of /** @type {HTMLElement[]} */ ([...this.view.log.querySelectorAll('.msg.mine[data-seq]')])) {
      if (Number(el.dataset.seq) <= this.agentRead && !el.classList.contains('read')) {
        el.classList.add('read');
        setState(el, this.s.t('seen'));
      }
    }
  }

  /** Under the title: how soon the team usually answers, then waiting for an agent, then who
   * the visitor is talking to. */
  renderSubtitle() {
    const c = this.guest.conversation;
    // Who holds the conversation, as the server names them (`agent`), else as their entries do.
    const agent = c?.state === 'assigned' && !this.guest.closed ? c.agent : undefined;
    const name = agent?.name ?? this.agentName;
    showAvatar(this.view.avatar, agent, this.s);
    let text = '';
    if (c && !this.guest.closed) {
      if (c.state === 'waiting') text = this.guest.queue ? queuePlace(this.guest.queue, this.s) : this.s.t('waiting');
      else if (c.state === 'assigned' && name) text = this.s.t('chattingWith', { name });
    } else if (!c && this.welcome?.replyWithinMins) {
      text = replyTime(this.welcome.replyWithinMins, this.s);
    }
    this.view.subtitle.textContent = text;
  }

  /** @param {string} text @param {boolean} [isError] */
  setStatus(text, isError = false) {
    this.view.status.textContent = text;
    this.view.status.classList.toggle('error', isError);
  }

  /** @param {number} n */
  setUnread(n) {
    if (n === this.unread) return;
    this.unread = n;
    this.view.badge.hidden = n === 0;
    this.view.badge.textContent = String(n);
    this.view.launcher.setAttribute('aria-label', n ? this.s.t('openChatUnread', { n }) : this.s.t('openChat'));
    this.emit('unread', { count: n });
  }

  /** The conversation is over (closed, or this session can no longer be used): the composer
   * goes; a new chat is offered unless a new one would fail the same way.
   * @param {string} text
   * @param {boolean} canRestart
   */
  showEnded(text, canRestart) {
    const root = /** @type {Document | ShadowRoot} */ (this.view.form.getRootNode());
    const hadFocus = this.view.form.contains(root.activeElement);
    this.view.endedText.textContent = text;
    this.view.restart.hidden = !canRestart;
    this.view.ended.hidden = false;
    this.view.form.hidden = true;
    this.view.typing.textContent = '';
    this.setStatus('');
    this.renderSubtitle();
    if (hadFocus) (canRestart ? this.view.restart : this.view.log).focus();
  }

  /** Closed, within the reopen window: the chat ended, writing again reopens it, and a new
   * chat is offered beside the composer, which stays (and keeps focus). */
  showReopenable() {
    this.view.endedText.textContent = this.s.t('endedReopen');
    this.view.restart.hidden = false;
    this.view.ended.hidden = false;
    this.view.typing.textContent = '';
    this.renderSubtitle();
  }

  /** Reopened: the conversation goes on as before. */
  hideEnded() {
    this.view.ended.hidden = true;
    this.renderSubtitle();
  }

  /** Starts the session on the first send. A refusal (the page's setup) shows the chat as
   * unavailable; Porch being unreachable is retried by the SDK. */
  startGuest() {
    const g = this.guest;
    g.start().catch((e) => {
      if (e.fatal || e.code === 'ended' || g !== this.guest) return; // shown by the error handler
      this.report(e);
      for (const p of g.pending) this.markFailed(p.clientMessageId);
      if (isSetupProblem(e)) this.showEnded(this.s.t('unavailable'), false);
      else this.setStatus(this.s.t('notSentStatus'), true);
    });
  }

  /** Opens the panel; asked before the page check is done (the host page's `open()`), once
   * the launcher shows; never on a page that cannot work. */
  open() {
    if (this.view.launcher.hidden) {
      this.openWanted = true;
      return;
    }
    this.openWanted = false;
    this.view.panel.hidden = false;
    this.view.launcher.setAttribute('aria-expanded', 'true');
    this.tab.remember(this.openKey, '1');
    this.setUnread(0);
    if (this.guest.lastSeq) this.guest.markRead();
    this.log.toEnd();
    this.focusTarget().focus();
  }

  /** What the visitor can do first: the offline form, the message box, or a new chat. */
  focusTarget() {
    if (this.offline.shown) return this.offline.firstField;
    if (!this.view.form.hidden) return this.view.input;
    return this.view.restart.hidden ? this.view.close : this.view.restart;
  }

  close() {
    this.openWanted = false;
    if (this.view.panel.hidden) return;
    this.view.panel.hidden = true;
    this.view.launcher.setAttribute('aria-expanded', 'false');
    this.tab.remember(this.openKey, null);
    this.view.launcher.focus();
  }

  send() {
    const text = this.view.input.value.trim();
    if (!text) return;
    this.view.input.value = '';
    fitInput(this.view.input);
    this.setStatus('');
    this.guest.send(text).catch(() => { /* shown by the error handler */ });
    this.log.toEnd();
    if (this.guest.state === 'idle') this.startGuest();
  }

  /** A new conversation, same deployment: its notice stays shown (and is read again). */
  restart() {
    this.guest.end({ forget: true });
    this.view.log.replaceChildren();
    this.view.ended.hidden = true;
    this.view.form.hidden = false;
    this.view.older.hidden = true;
    this.setStatus('');
    this.agentRead = 0;
    this.agentName = null;
    this.offline.forget();
    this.tab.remember(this.sentKey, null);
    this.guest = this.newGuest();
    this.renderSubtitle();
    this.guest.peekNotice().then((n) => {
      showNotice(this.view.notice, n);
      if (this.offline.shown) this.offline.firstField.focus();
    }, () => { /* the session brings it */ });
    this.view.input.focus();
  }

  bindControls() {
    const v = this.view;
    v.launcher.addEventListener('click', () => (this.isOpen() ? this.close() : this.open()));
    v.close.addEventListener('click', () => this.close());
    v.panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.preventDefault(); this.close(); }
    });
    v.input.addEventListener('keydown', (e) => {
      // Enter sends; Shift+Enter is a new line; never while an IME is composing.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); v.form.requestSubmit(); }
    });
    v.input.addEventListener('input', () => {
      fitInput(v.input);
      if (this.guest.state === 'open') this.guest.typing();
    });
    v.form.addEventListener('submit', (e) => { e.preventDefault(); this.send(); });
    v.older.addEventListener('click', () => {
      this.guest.loadOlder().catch((e) => { this.report(e); this.setStatus(this.s.t('olderFailed'), true); });
    });
    v.restart.addEventListener('click', () => this.restart());
    bindFiles(v, (file) => {
      this.log.toEnd();
      sendFile(this.guest, file, { s: this.s, setStatus: (text, isError) => this.setStatus(text, isError), report: (e) => this.report(e) });
    });
    // The tone may only play after the visitor interacted with the page.
    for (const type of ['pointerdown', 'keydown']) v.panel.addEventListener(type, () => this.attention.prime());
    v.launcher.addEventListener('pointerdown', () => this.attention.prime());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.attention.seen();
      if (document.visibilityState === 'visible' && this.isOpen()) {
        this.setUnread(0);
        if (this.guest.lastSeq) this.guest.markRead();
      }
    });
  }
}
