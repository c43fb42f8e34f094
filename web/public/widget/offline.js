// The offline form (docs/sdk.md, "The offline form"): while nobody can answer (the widget
// endpoint's `agentsAvailable` is false and the deployment's `offlineForm` is on), a new visitor
// leaves an email and a message instead of opening the live chat. Sending it starts the
// session with the email and sends the message into the queue as the chat would (agents answer
// it later, the email beside it); the panel then says the team will answer by email. An
// address that cannot be one is refused here, in the visitor's words, before anything is sent.
// An agent who becomes available while the form is open does not take it away.

/** Longest address a mail server takes (RFC 5321: a path of 256, less its brackets). */
export const EMAIL_CHARS_MAX = 254;

// The HTML standard's valid e-mail address, with Unicode letters allowed in the domain (an
// internationalised name) and a dot required in it: `ann@gmail` is a typo far more often than
// an intranet address a visitor would give a shop.
const LABEL = '[\\p{L}\\p{N}](?:[\\p{L}\\p{N}-]{0,61}[\\p{L}\\p{N}])?';
const EMAIL = new RegExp(`^[a-zA-Z0-9.!#$%&'*+/=?^_\`{|}~-]+@${LABEL}(?:\\.${LABEL})+$`, 'u');

/**
 * Why `email` cannot be used, as a key of the string table, or '' when it can.
 * @param {string} email
 * @returns {'' | 'offlineEmailMissing' | 'offlineEmailInvalid'}
 */
export function emailProblem(email) {
  if (!email) return 'offlineEmailMissing';
  if ([...email].length > EMAIL_CHARS_MAX || !EMAIL.test(email)) return 'offlineEmailInvalid';
  return '';
}

/** @typedef {ReturnType<typeof import('./strings.js').stringsFor>} Strings */
/** @typedef {ReturnType<typeof import('./view.js').buildView>} View */

export class OfflineForm {
  /**
   * @param {View} view
   * @param {Strings} s
   * @param {(answer: {email: string, text: string}) => void} onSend the checked answer
   */
  constructor(view, s, onSend) {
    this.view = view;
    this.s = s;
    this.onSend = onSend;
    view.offline.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    // The visitor is fixing what was refused: the complaint goes until the next try.
    for (const field of [view.offlineEmail, view.offlineMessage]) {
      field.addEventListener('input', () => {
        if (field.getAttribute('aria-invalid') === 'true') this.refuse(null);
      });
    }
  }

  get shown() { return !this.view.offline.hidden; }

  /**
   * In place of the chat; `email` fills the field if the page already knows it.
   * @param {string} [email]
   */
  show(email = '') {
    const v = this.view;
    if (!v.offlineEmail.value) v.offlineEmail.value = email;
    v.offline.hidden = false;
    // The chat's parts step aside (styles.js): the form is what the visitor can do.
    v.panel.dataset.offline = '';
  }

  hide() {
    this.view.offline.hidden = true;
    delete this.view.panel.dataset.offline;
    this.refuse(null);
  }

  /** Where focus goes when the panel opens on the form. */
  get firstField() { return this.view.offlineEmail; }

  submit() {
    const v = this.view;
    const email = v.offlineEmail.value.trim();
    const text = v.offlineMessage.value.trim();
    const problem = emailProblem(email);
    if (problem) return this.refuse(problem, v.offlineEmail);
    if (!text) return this.refuse('offlineMessageMissing', v.offlineMessage);
    v.offlineMessage.value = '';
    this.hide();
    this.onSend({ email, text });
  }

  /**
   * Says what is wrong with one field, and puts focus there; null clears it.
   * @param {Parameters<Strings['t']>[0] | null} key
   * @param {HTMLElement} [field]
   */
  refuse(key, field) {
    const v = this.view;
    v.offlineError.textContent = key ? this.s.t(key) : '';
    for (const el of [v.offlineEmail, v.offlineMessage]) {
      if (el === field) el.setAttribute('aria-invalid', 'true');
      else el.removeAttribute('aria-invalid');
    }
    field?.focus();
  }

  /**
   * "The team will answer by email at …", kept above the conversation it started.
   * @param {string} email
   */
  confirm(email) {
    // Isolated, so an address keeps its order inside a right-to-left sentence. The region
    // stays in the page while empty (collapsed by CSS), so screen readers announce this.
    this.view.offlineSent.textContent = this.s.t('offlineSent', { email: `\u2068${email}\u2069` });
  }

  /** A new chat: the confirmation was about the last one. */
  forget() {
    this.view.offlineSent.textContent = '';
  }
}
