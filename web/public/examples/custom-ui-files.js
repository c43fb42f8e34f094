// Files in the reference custom UI (docs/attachments.md): the attach button, a file dropped on
// the conversation and a picture pasted into the message box send a file through the SDK, with
// its progress; a refusal is said in plain words (the cause and fix go to the browser console,
// for you). An attachment message shows its name as a link and, for a picture, its preview
// (the small PNG Porch makes of a PNG or JPEG); a file deleted by retention says so.

/** Plain words for the refusals a visitor can act on, by the server's (or the SDK's) code. */
const REFUSED = /** @type {Record<string, string>} */ ({
  attachment_too_large: 'This file is too large to send.',
  attachment_quota_full: 'This conversation cannot take more files.',
  attachment_body_too_long: 'This file is too large to send.',
  attachment_type_refused: 'This kind of file cannot be sent. Send a picture or a PDF.',
  attachment_type_mismatch: 'This kind of file cannot be sent. Send a picture or a PDF.',
});

/**
 * Wires the attach button, the file input, drops and pastes to sending through `chat()`.
 * @param {{chat: () => import('../sdk/porch.js').PorchGuest, byId: (id: string) => any, start: () => Promise<unknown>}} o
 */
export function bindFiles({ chat, byId, start }) {
  const send = (/** @type {File} */ file) => sendFile(chat(), file, byId('file-status'), start);
  byId('attach').addEventListener('click', () => byId('file').click());
  byId('file').addEventListener('change', () => {
    const file = byId('file').files?.[0];
    byId('file').value = '';
    if (file) send(file);
  });
  byId('log-box').addEventListener('dragover', (/** @type {DragEvent} */ e) => { if (e.dataTransfer?.types.includes('Files')) e.preventDefault(); });
  byId('log-box').addEventListener('drop', (/** @type {DragEvent} */ e) => {
    const file = e.dataTransfer?.files?.[0];
    if (!file) return;
    e.preventDefault();
    send(file);
  });
  byId('text').addEventListener('paste', (/** @type {ClipboardEvent} */ e) => {
    const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
    if (file) { e.preventDefault(); send(file); }
  });
}

/**
 * @param {import('../sdk/porch.js').PorchGuest} chat @param {File} file @param {HTMLElement} status
 * @param {() => Promise<unknown>} start the chat's start: a file sent first needs its session
 */
async function sendFile(chat, file, status, start) {
  const name = file.name || 'file';
  status.textContent = `Sending ${name}… 0%`;
  try {
    if (chat.state === 'idle') await start();
    await chat.attach(file, {
      onProgress: ({ loaded, total }) => { status.textContent = `Sending ${name}… ${Math.floor((loaded / Math.max(total, 1)) * 100)}%`; },
    });
    status.textContent = '';
  } catch (caught) {
    const e = /** @type {{code?: string, detail?: string}} */ (caught ?? {});
    console.error(`Porch: the file was not sent: ${e.code}: ${e.detail}`);
    status.textContent = REFUSED[e.code ?? ''] ?? 'The file could not be sent. Please try again.';
  }
}

/**
 * An attachment message's body: a link to the file and, for a picture, its preview.
 * @param {HTMLElement} text @param {import('../sdk/porch.js').Attachment} file
 * @param {import('../sdk/porch.js').PorchGuest} chat
 */
export function showFile(text, file, chat) {
  if (file.deleted) {
    text.textContent = `${file.name} (file removed)`;
    return;
  }
  const link = document.createElement('a');
  link.textContent = file.name;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  text.replaceChildren(link);
  chat.attachmentUrl(file.id).then((urls) => {
    link.href = urls.url;
    const picture = urls.previewUrl ?? (file.contentType.startsWith('image/') ? urls.url : null);
    if (!picture) return;
    const img = document.createElement('img');
    img.className = 'preview';
    img.alt = `Preview of ${file.name}`;
    img.addEventListener('error', () => img.remove()); // no preview of this one: the link stays
    img.src = picture;
    text.append(img);
  }, (/** @type {{code?: string, detail?: string}} */ e) => {
    if (e.code === 'attachment_deleted') text.textContent = `${file.name} (file removed)`;
    else console.error(`Porch: ${file.name} cannot be read: ${e.code}: ${e.detail}`);
  });
}
