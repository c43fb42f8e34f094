// Getting a visitor's attention back when an agent answers while the page is hidden (another
// tab, a minimised window): a count in the tab's title and a short tone. Off unless the page
// asks (`data-notify="on"`): a sound a visitor did not expect is a reason to close a site.

/** The tone: one soft sine, short enough not to startle. */
const TONE_HZ = 880;
const TONE_MS = 160;
const TONE_GAIN = 0.08;

export class Attention {
  /** @param {{enabled: boolean, doc?: Document}} o */
  constructor({ enabled, doc = document }) {
    this.enabled = enabled;
    this.doc = doc;
    /** Replies since the page was last visible. */
    this.count = 0;
    /** The page's own title, while ours is shown; null when the page's is shown. */
    this.pageTitle = null;
    /** What we last wrote, to tell whether the page changed its title meanwhile. */
    this.shownTitle = null;
    /** @type {AudioContext | null} */
    this.audio = null;
  }

  /** Browsers let a page make sound only after the visitor interacted with it: the widget
   * calls this on every click and key in its panel, and the tone later reuses the context. */
  prime() {
    if (!this.enabled || this.audio) return;
    const Ctx = globalThis.AudioContext ?? /** @type {any} */ (globalThis).webkitAudioContext;
    if (!Ctx) return;
    try {
      this.audio = new Ctx();
    } catch { /* no audio device: the title count still works */ }
  }

  /** An agent's reply arrived. Counts and chimes only while the page is hidden. */
  reply() {
    if (!this.enabled || this.doc.visibilityState === 'visible') return;
    this.count += 1;
    this.showCount();
    this.chime();
  }

  /** The page is visible again: the page's own title comes back. */
  seen() {
    if (this.count === 0) return;
    this.count = 0;
    // A page that set its own title meanwhile keeps it.
    if (this.doc.title === this.shownTitle && this.pageTitle !== null) this.doc.title = this.pageTitle;
    this.pageTitle = null;
    this.shownTitle = null;
  }

  showCount() {
    if (this.pageTitle === null || this.doc.title !== this.shownTitle) this.pageTitle = this.doc.title;
    this.shownTitle = `(${this.count}) ${this.pageTitle}`;
    this.doc.title = this.shownTitle;
  }

  chime() {
    const ctx = this.audio;
    if (!ctx) return;
    if (ctx.state === 'suspended') ctx.resume().catch(() => { /* not allowed: silent */ });
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = TONE_HZ;
    const t = ctx.currentTime;
    // A ramp up and down: a square edge would click.
    gain.gain.setValueAtTime(0, t);
    gain.gain.linearRampToValueAtTime(TONE_GAIN, t + 0.01);
    gain.gain.linearRampToValueAtTime(0, t + TONE_MS / 1000);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + TONE_MS / 1000);
  }
}
