// Attachments (docs/attachments.md): refuse a file the announced limits refuse, ask Porch for
// an upload URL, send the file's bytes (with progress where the browser reports it) and
// resolve with the stored attachment message; and ask for a short-lived URL reading one.

import { PorchError, errorFromResponse } from './errors.js';
import { request } from './http.js';
import { newClientMessageId } from './outbox.js';
import { PATHS } from './wire.gen.js';


/** @typedef {import('./porch.js').Message} Message @typedef {import('./porch.js').AttachmentLimits} AttachmentLimits */
/** @typedef {{fetch: typeof fetch, baseUrl: string, token: string | undefined, path: string, limits?: AttachmentLimits | null}} Target */

/** A guest's files: its own conversation's, within the limits its `ready` announced. @param {import('./guest.js').PorchGuest} guest @returns {Target} */
export function guestTarget(guest) {
  return { fetch: guest._fetch, baseUrl: guest._baseUrl, token: guest._session?.accessToken, path: PATHS.guestAttachments, limits: guest.limits?.attachments };
}

/**
 * Why the announced limits refuse `file` (the server's own codes), or null when they allow it.
 * @param {Blob} file @param {AttachmentLimits | null | undefined} limits
 */
export function refuseFile(file, limits) {
  if (!limits) return null;
  if (file.size === 0 || file.size > limits.bytesMax) {
    return new PorchError({ code: 'attachment_too_large', message: `the file has ${file.size} bytes; a file may have 1 to ${limits.bytesMax}` });
  }
  if (!limits.types.includes(file.type)) {
    return new PorchError({ code: 'attachment_type_refused', message: `${file.type || 'a file of unknown type'} cannot be sent; allowed: ${limits.types.join(', ')}` });
  }
  return null;
}

/**
 * Sends `file` into the conversation `to.path` names; resolves with its attachment message.
 * @param {Target} to @param {Blob & {name?: string}} file @param {import('./porch.js').AttachOptions} [options]
 * @returns {Promise<Message>}
 */
export async function attach(to, file, options = {}) {
  const refused = refuseFile(file, to.limits);
  if (refused) throw refused;
  const json = {
    clientMessageId: options.clientMessageId ?? newClientMessageId(),
    name: options.name ?? file.name ?? 'file',
    size: file.size,
    contentType: file.type,
  };
  const grant = await request(to.fetch, to.baseUrl, 'POST', to.path, { token: to.token, json });
  const sent = options.onProgress && typeof XMLHttpRequest === 'function'
    ? await putWithProgress(grant.uploadUrl, file, options.onProgress)
    : await put(to.fetch, grant.uploadUrl, file);
  options.onProgress?.({ loaded: file.size, total: file.size });
  return sent.message;
}

/** @param {typeof fetch} fetchFn @param {string} url @param {Blob} file */
async function put(fetchFn, url, file) {
  let res;
  try {
    res = await fetchFn(url, { method: 'PUT', body: file, credentials: 'omit', headers: { 'content-type': 'application/octet-stream' } });
  } catch {
    throw unreachable();
  }
  if (!res.ok) throw await errorFromResponse(res, 'PUT upload');
  return res.json();
}

/**
 * `fetch` reports no upload progress; `XMLHttpRequest` does.
 * @param {string} url @param {Blob} file @param {(progress: {loaded: number, total: number}) => void} onProgress
 * @returns {Promise<any>}
 */
function putWithProgress(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress({ loaded: e.loaded, total: file.size });
    xhr.onerror = () => reject(unreachable());
    xhr.onload = () => {
      const headers = { 'retry-after': xhr.getResponseHeader('retry-after') ?? '' };
      const res = new Response(xhr.responseText, { status: xhr.status, headers });
      if (res.ok) res.json().then(resolve, reject);
      else errorFromResponse(res, 'PUT upload').then(reject);
    };
    xhr.send(file);
  });
}

function unreachable() {
  return new PorchError({ code: 'network', message: 'the upload could not reach Porch; check the network (and that the page\'s connect-src allows Porch), then attach the file again' });
}

/**
 * Short-lived URLs reading attachment `attachmentId` (for a download link), and for a PNG or
 * JPEG its preview (for `<img src>`).
 * @param {Target} to @param {string} attachmentId
 * @returns {Promise<import('./porch.js').AttachmentUrls>}
 */
export function attachmentUrl(to, attachmentId) {
  return request(to.fetch, to.baseUrl, 'GET', `${to.path}/${encodeURIComponent(attachmentId)}`, { token: to.token });
}
