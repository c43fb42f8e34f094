// Files in the console (docs/attachments.md): the attach button, a file dropped on the open
// conversation and a picture pasted into the reply send a file through the SDK, with its
// progress under the composer and, when it is refused, why (the server's cause and fix: agents
// act on them). An attachment message shows a download link and, for a PNG or JPEG, the
// preview Porch made; a file deleted by retention says so instead of linking nowhere.
//
// Messages are drawn by render.js; this module watches the log and adds the files to the
// bubbles of attachment messages, so the drawing code stays as it was.

/** @typedef {import('../sdk/porch.js').PorchAgent} PorchAgent @typedef {import('../sdk/porch.js').Attachment} Attachment */

export class ConsoleFiles {
  /**
   * @param {{agent: () => PorchAgent | null, openId: () => string | null, byId: (id: string) => any}} o
   */
  constructor({ agent, openId, byId }) {
    this.agent = agent;
    this.openId = openId;
    this.button = byId('attach');
    this.input = byId('attach-file');
    this.status = byId('attach-status');
    this.log = byId('messages');
    this.button.addEventListener('click', () => this.input.click());
    this.input.addEventListener('change', () => {
      const file = this.input.files?.[0];
      this.input.value = '';
      if (file) this.send(file);
    });
    const pane = byId('open-view');
    pane.addEventListener('dragover', (/** @type {DragEvent} */ e) => { if (e.dataTransfer?.types.includes('Files')) e.preventDefault(); });
    pane.addEventListener('drop', (/** @type {DragEvent} */ e) => {
      const file = e.dataTransfer?.files?.[0];
      if (!file) return;
      e.preventDefault();
      this.send(file);
    });
    byId('reply').addEventListener('paste', (/** @type {ClipboardEvent} */ e) => {
      const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
      if (file) { e.preventDefault(); this.send(file); }
    });
    new MutationObserver((changes) => {
      for (const change of changes) for (const node of change.addedNodes) this.decorate(/** @type {HTMLElement} */ (node));
    }).observe(this.log, { childList: true });
  }

  /** Whether the open conversation takes files (not closed): the button follows it. */
  enable(/** @type {boolean} */ on) {
    this.button.disabled = !on;
  }

  /** Sends `file` into the open conversation, saying its progress, then its outcome. @param {File} file */
  async send(file) {
    const agent = this.agent();
    const id = this.openId();
    if (!agent || !id || this.button.disabled) return;
    const name = file.name || 'file';
    this.say(`Sending ${name}… 0%`);
    try {
      await agent.attach(id, file, {
        onProgress: ({ loaded, total }) => this.say(`Sending ${name}… ${Math.floor((loaded / Math.max(total, 1)) * 100)}%`),
      });
      this.say('');
    } catch (caught) {
      const err = /** @type {{detail?: string, message?: string, code?: string}} */ (caught ?? {});
      this.say(`${name} was not sent: ${err.detail ?? err.message} (${err.code ?? 'error'})`, true);
    }
  }

  /** @param {string} text @param {boolean} [refused] */
  say(text, refused = false) {
    this.status.textContent = text;
    this.status.classList.toggle('error', refused);
  }

  /** Adds the file to a drawn attachment message: its link, and its preview or "removed". @param {HTMLElement} el */
  decorate(el) {
    const agent = this.agent();
    const id = this.openId();
    if (!agent || !id || !el.dataset?.seq) return;
    const file = agent.messages(id).find((m) => m.seq === Number(el.dataset.seq))?.attachment;
    const text = /** @type {HTMLElement | null} */ (el.querySelector('.text'));
    if (!file || !text) return;
    if (file.deleted) {
      text.textContent = `${file.name} (file removed)`;
      return;
    }
    const link = document.createElement('a');
    link.className = 'file-link';
    link.textContent = `${file.name} (${sizeOf(file.size)})`;
    link.setAttribute('download', file.name);
    text.replaceChildren(link);
    agent.attachmentUrl(id, file.id).then((urls) => {
      link.href = urls.url;
      if (urls.previewUrl) showPreview(text, urls.previewUrl, file);
    }, (/** @type {{code?: string, detail?: string}} */ err) => {
      text.textContent = err.code === 'attachment_deleted' ? `${file.name} (file removed)` : `${file.name} (cannot be read: ${err.detail})`;
    });
  }
}

/** The preview under the link; none when Porch has none for this image (the link stays). @param {HTMLElement} text @param {string} url @param {Attachment} file */
function showPreview(text, url, file) {
  const img = document.createElement('img');
  img.className = 'preview';
  img.alt = `Preview of ${file.name}`;
  img.addEventListener('error', () => img.remove());
  img.src = url;
  text.append(img);
}

/** A file's size as people read it. @param {number} bytes */
function sizeOf(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
