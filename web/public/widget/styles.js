// The widget's CSS, applied inside its shadow root. Selectors of the host page cannot reach
// inside a shadow root, but inherited properties (font, color, letter-spacing…) flow in
// through the host element, and a page rule like `* { font-family: x !important }` beats
// `:host` on that element. So the two top-level elements reset everything (`all: initial`)
// and set their own font and colour; all below inherits from them, not from the page.
// Colours keep a contrast ratio of at least 4.5:1 (WCAG AA) for every text.
//
// The custom properties on `:host` are the page's handles (docs/sdk.md): a rule on
// `#porch-widget` in the page sets them, and they are inherited into the shadow root.

export const WIDGET_CSS = `
:host {
  all: initial;
  --porch-accent: #1f4e8c;
  --porch-accent-text: #ffffff;
  --porch-bg: #ffffff;
  --porch-text: #1b1f24;
  --porch-muted: #4b5563;
  --porch-bubble: #eef1f5;
  --porch-error: #a4161a;
  --porch-font: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  --porch-radius: 12px;
}
* { box-sizing: border-box; }
/* Every display rule below would otherwise beat the user agent's [hidden]. */
[hidden] { display: none !important; }
.launcher, .panel {
  all: initial;
  font: 15px/1.45 var(--porch-font);
  color: var(--porch-text);
  box-sizing: border-box;
}
.visually-hidden {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
button { font: inherit; cursor: pointer; }
:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.launcher {
  position: fixed; right: 16px; bottom: 16px; z-index: 2147483000;
  width: 56px; height: 56px; border-radius: 50%; border: none;
  background: var(--porch-accent); color: var(--porch-accent-text);
  box-shadow: 0 4px 14px rgba(0, 0, 0, .25);
  display: grid; place-items: center;
}
.launcher svg { width: 26px; height: 26px; fill: currentColor; }
.badge {
  position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: var(--porch-error); color: #fff; font-size: 13px; line-height: 22px;
}
.panel {
  position: fixed; right: 16px; bottom: 84px; z-index: 2147483000;
  width: min(380px, calc(100vw - 32px)); height: min(560px, calc(100vh - 110px));
  display: flex; flex-direction: column;
  background: var(--porch-bg); border-radius: var(--porch-radius); overflow: hidden;
  box-shadow: 0 8px 30px rgba(0, 0, 0, .3);
}
header {
  display: flex; align-items: center; justify-content: space-between; gap: 8px;
  padding: 12px 14px; background: var(--porch-accent); color: var(--porch-accent-text);
}
.heading { min-width: 0; flex: 1; }
.avatar { flex-shrink: 0; width: 36px; height: 36px; border-radius: 50%; object-fit: cover; background: rgba(255, 255, 255, .2); }
.avatar[hidden] { display: none; }
h2 { margin: 0; font-size: 16px; font-weight: 600; }
.subtitle { margin: 0; font-size: 13px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.subtitle:empty { display: none; }
.close {
  flex-shrink: 0; background: transparent; border: none; color: inherit; font-size: 22px; line-height: 1;
  width: 36px; height: 36px; border-radius: 6px;
}
.notice { flex-shrink: 0; font-size: 14px; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 9em; overflow-y: auto; }
.notice:not(:empty) { padding: 8px 14px; background: #e8f0fb; color: var(--porch-text); border-bottom: 1px solid #b9c8de; }
.greeting { margin: 12px 14px 0; padding: 10px 12px; border-radius: 12px; background: var(--porch-bubble); color: var(--porch-text); font-size: 15px; white-space: pre-wrap; overflow-wrap: anywhere; align-self: flex-start; max-width: 85%; }
.status { flex-shrink: 0; padding: 0 14px; font-size: 13px; color: var(--porch-muted); }
.status:not(:empty) { padding: 6px 14px; background: #fff7e6; }
.status.error { color: var(--porch-error); background: #fdecec; }
.older { flex-shrink: 0; margin: 8px auto 0; background: none; border: 1px solid #c5cbd3; border-radius: 14px; padding: 2px 12px; color: var(--porch-text); }
.log { flex: 1; overflow-y: auto; padding: 12px 14px; display: flex; flex-direction: column; gap: 8px; }
.msg { max-width: 85%; display: flex; flex-direction: column; align-items: flex-start; }
.msg.grouped { margin-top: -5px; }
.msg .meta { font-size: 12px; color: var(--porch-muted); margin: 0 4px 2px; }
.msg.grouped .who, .msg.grouped time { display: none; }
.msg.grouped .meta:has(.state:empty) { display: none; }
.msg .state:not(:empty)::before { content: "· "; }
.msg.grouped .state::before { content: none; }
.msg .text { margin: 0; padding: 8px 12px; border-radius: 14px; white-space: pre-wrap; overflow-wrap: anywhere; background: var(--porch-bubble); color: var(--porch-text); }
.msg.mine { align-self: flex-end; align-items: flex-end; }
.msg.mine .text { background: var(--porch-accent); color: var(--porch-accent-text); }
.msg.pending .text { background: #4a6fa5; color: #fff; }
.msg.failed .text { background: #fdecec; color: var(--porch-error); }
.msg.system { align-self: center; max-width: 100%; }
.quick-replies { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
.quick-reply { border: 1px solid var(--porch-accent); border-radius: 16px; padding: 6px 12px; background: #fff; color: var(--porch-accent); font: inherit; font-size: 14px; }
.quick-reply:disabled { opacity: 0.6; }
.quick-reply[aria-pressed="true"] { background: var(--porch-accent); color: var(--porch-accent-text); opacity: 1; }
.card { margin-top: 6px; padding: 8px 12px; border: 1px solid #dde1e6; border-radius: 10px; background: #fff; display: flex; flex-direction: column; gap: 4px; }
.card-title { margin: 0; font-weight: 600; }
.card-text { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.card-link { color: var(--porch-accent); }
.msg.system .text { background: none; color: var(--porch-muted); font-size: 13px; font-style: italic; padding: 0; text-align: center; }
.typing { flex-shrink: 0; min-height: 20px; padding: 0 14px; font-size: 13px; color: var(--porch-muted); }
form { flex-shrink: 0; display: flex; align-items: flex-end; gap: 8px; padding: 10px; border-top: 1px solid #dde1e6; }
/* 16 px: phones zoom into a smaller text field when it takes focus. */
textarea {
  flex: 1; resize: none; font: 16px/1.4 var(--porch-font); color: var(--porch-text); background: #fff;
  border: 1px solid #8a94a3; border-radius: 8px; padding: 8px 10px; height: 40px; max-height: 120px; overflow-y: auto;
}
textarea::placeholder { color: #5f6b7a; }
.attach { min-height: 40px; width: 40px; border: 1px solid #8a94a3; border-radius: 8px; background: #fff; color: var(--porch-text); padding: 0; }
.attach svg { width: 20px; height: 20px; fill: currentColor; vertical-align: middle; }
.msg .file-link { color: inherit; text-decoration: underline; }
.msg .preview { display: block; max-width: 220px; max-height: 220px; margin-top: 6px; border-radius: 8px; }
.send { min-height: 40px; border: none; border-radius: 8px; padding: 0 14px; background: var(--porch-accent); color: var(--porch-accent-text); }
.ended { flex-shrink: 0; display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; padding: 10px 14px; border-top: 1px solid #dde1e6; font-size: 14px; }
.ended-text { margin: 0; }
.restart { background: var(--porch-accent); color: var(--porch-accent-text); border: none; border-radius: 6px; padding: 6px 12px; }
/* The offline form takes the chat's place (offline.js): the chat's parts step aside. */
.panel[data-offline] :is(.greeting, .older, .log, .typing, form.composer, .ended) { display: none !important; }
form.offline { flex: 1; flex-direction: column; align-items: stretch; gap: 4px; padding: 14px; border-top: none; overflow-y: auto; }
.offline-intro { margin: 0 0 8px; white-space: pre-wrap; }
.offline label { font-size: 14px; font-weight: 600; margin-top: 6px; }
.offline input {
  font: 16px/1.4 var(--porch-font); color: var(--porch-text); background: #fff;
  border: 1px solid #8a94a3; border-radius: 8px; padding: 8px 10px;
}
.offline textarea { flex: none; height: auto; min-height: 6.5em; max-height: none; }
.offline [aria-invalid="true"] { border: 2px solid var(--porch-error); }
.offline-error { margin: 4px 0 0; color: var(--porch-error); font-size: 14px; }
.offline-error:empty { margin: 0; }
.offline-send { align-self: flex-end; margin-top: 8px; min-height: 40px; border: none; border-radius: 8px; padding: 0 18px; background: var(--porch-accent); color: var(--porch-accent-text); }
.offline-sent { flex-shrink: 0; margin: 0; font-size: 14px; }
.offline-sent:not(:empty) { padding: 8px 14px; background: #e9f6ec; color: var(--porch-text); border-bottom: 1px solid #b7dcc0; }
@media (max-width: 480px) {
  .panel { right: 0; bottom: 0; width: 100vw; height: 100vh; height: 100dvh; border-radius: 0; }
}
`;
