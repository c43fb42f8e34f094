// Files in the widget (docs/attachments.md): the attach button, drag-and-drop and pasted
// pictures send a file through the SDK with its progress on the status line; a refusal is
// said in the visitor's words (the cause and fix go to the console); an attachment message
// shows its name as a link and, for a picture, its preview.

/** Refusals a visitor can act on, by the server's code (or the SDK's, before upload). */
const REFUSALS = /** @type {Record<string, 'fileTooLarge' | 'fileTypeRefused'>} */ ({
  attachment_too_large: 'fileTooLarge',
  attachment_quota_full: 'fileTooLarge',
  attachment_body_too_long: 'fileTooLarge',
  attachment_type_refused: 'fileTypeRefused',
  attachment_type_mismatch: 'fileTypeRefused',
});

/**
 * Wires the attach button, the file input, drops and pastes to `send(file)`.
 * @param {ReturnType<typeof import('./view.js').buildView>} view
 * @param {(file: File) => void} send
 */
export function bindFiles(view, send) {
  view.attach.addEventListener('click', () => view.file.click());
  view.file.addEventListener('change', () => {
    const file = view.file.files?.[0];
    view.file.value = '';
    if (file) send(file);
  });
  view.panel.addEventListener('dragover', (e) => { if (e.dataTransfer?.types.includes('Files')) e.preventDefault(); });
  view.panel.addEventListener('drop', (e) => {
    const file = e.dataTransfer?.files?.[0];
    if (!file || view.form.hidden) return;
    e.preventDefault();
    send(file);
  });
  view.input.addEventListener('paste', (e) => {
    const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
    if (file) { e.preventDefault(); send(file); }
  });
}

/**
 * Sends `file` as the guest, saying its progress on the status line.
 * @param {import('../sdk/porch.js').PorchGuest} guest
 * @param {File} file
 * @param {{s: ReturnType<typeof import('./strings.js').stringsFor>, setStatus: (text: string, isError?: boolean) => void, report: (e: any) => void}} ui
 */
export async function sendFile(guest, file, { s, setStatus, report }) {
  const name = file.name || 'file';
  try {
    if (guest.state === 'idle') await guest.start();
    await guest.attach(file, {
      onProgress: ({ loaded, total }) => setStatus(s.t('uploading', { name, percent: Math.floor((loaded / Math.max(total, 1)) * 100) })),
    });
    setStatus('');
  } catch (caught) {
    const e = /** @type {import('../sdk/porch.js').PorchError} */ (caught);
    report(e);
    setStatus(s.t(REFUSALS[e.code] ?? 'fileFailed'), true);
  }
}

/**
 * An attachment message's body: its name as a link that opens the file, and for a picture its
 * preview (both through short-lived URLs, asked for when shown): the small PNG Porch made of a
 * PNG or JPEG, the picture itself for a GIF or WebP, nothing when Porch has no preview of it.
 * A file deleted by retention says so instead of linking nowhere.
 * @param {HTMLElement} text the bubble's text element
 * @param {import('../sdk/porch.js').Attachment} file
 * @param {{s: ReturnType<typeof import('./strings.js').stringsFor>, urlOf: (id: string) => Promise<import('../sdk/porch.js').AttachmentUrls>}} how
 */
export function showAttachment(text, file, { s, urlOf }) {
  if (file.deleted) {
    text.textContent = s.t('fileRemoved', { name: file.name });
    return;
  }
  const link = document.createElement('a');
  link.className = 'file-link';
  link.textContent = file.name;
  link.href = '#';
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  link.setAttribute('aria-label', s.t('fileOpen', { name: file.name }));
  text.replaceChildren(link);
  urlOf(file.id).then((urls) => {
    link.href = urls.url;
    const picture = urls.previewUrl ?? (file.contentType.startsWith('image/') ? urls.url : null);
    if (!picture) return;
    const img = document.createElement('img');
    img.className = 'preview';
    img.alt = s.t('filePreview', { name: file.name });
    // No preview (too many pixels, not decodable): the link stays, the cause is Porch's log's.
    img.addEventListener('error', () => img.remove());
    img.src = picture;
    text.append(img);
  }, (/** @type {{code?: string}} */ e) => {
    if (e?.code === 'attachment_deleted') text.textContent = s.t('fileRemoved', { name: file.name });
    /* otherwise the name stays; the console has the cause */
  });
}
