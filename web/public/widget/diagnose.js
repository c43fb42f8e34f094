// What the widget tells the builder of the page when something is wrong: the cause in Porch's
// words and the fix in theirs, through `console.error` and the host page's `error` event.
// Visitors never see any of this (strings.js has what they see).

/** Codes that mean this page cannot use this deployment until its builder changes something. */
const SETUP_CODES = new Set(['origin_not_allowed', 'deployment_unknown', 'deployment_disabled', 'csp_blocked']);

/** @param {{code: string}} error */
export function isSetupProblem(error) {
  return SETUP_CODES.has(error.code);
}

/**
 * The fix for a builder, as a command or a setting, or '' when the server's message says it.
 * @param {{code: string}} error
 * @param {{deployment: string, origin: string, baseUrl: string}} where
 */
export function fixFor(error, { deployment, origin, baseUrl }) {
  switch (error.code) {
    case 'origin_not_allowed':
      return `allow this page's origin: porch deployments update ${deployment} --add-origin ${origin}`;
    case 'deployment_unknown':
      return `data-deployment="${deployment}" names no deployment of the Porch at ${baseUrl}; copy the id from porch deployments list`;
    case 'deployment_disabled':
      return `switch it on again: porch deployments enable ${deployment}`;
    case 'network':
      return `check that Porch at ${baseUrl} is running and reachable from this page; the widget keeps trying`;
    default:
      return '';
  }
}

/**
 * The line for the console: `Porch widget (dep_…): code: cause [ref …]. Fix: …`.
 * @param {{code: string, detail: string, ref?: string | null}} error
 * @param {{deployment: string, origin: string, baseUrl: string}} where
 */
export function explain(error, where) {
  const fix = fixFor(error, where);
  const ref = error.ref ? ` [ref ${error.ref}]` : '';
  return `Porch widget (${where.deployment}): ${error.code}: ${error.detail}${ref}${fix ? `. Fix: ${fix}` : ''}`;
}
