// How the console gets an agent's attention for a new offer: a short tone and a desktop
// notification, each one switch the agent turns on or off, remembered in localStorage (the
// agent's choice for this browser, across logins), and a count in the tab's title.
//
// Both are off until the agent turns them on. A browser plays sound only after the person
// clicked or typed in the page, and shows notifications only after they allowed it when
// asked from a click: a switch that claimed to be on after a reload, before either, would
// promise what the browser will not do. Turning a switch on is that click.

const SOUND_KEY = 'porch:console:sound';
const DESKTOP_KEY = 'porch:console:desktop';

/** The tone: one soft sine, short enough not to startle, twice, so it reads as "ring". */
const TONE_HZ = 660;
const TONE_MS = 140;
const TONE_GAP_MS = 90;
const TONE_GAIN = 0.1;

export class Alerts {
  /**
   * @param {{sound: HTMLInputElement, desktop: HTMLInputElement, note: HTMLElement, baseTitle: string}} o
   */
  constructor({ sound, desktop, note, baseTitle }) {
    this.soundBox = sound;
    this.desktopBox = desktop;
    this.note = note;
    this.baseTitle = baseTitle;
    /** @type {AudioContext | null} */
    this.audio = null;
    sound.checked = localStorage.getItem(SOUND_KEY) === 'on';
    desktop.checked = localStorage.getItem(DESKTOP_KEY) === 'on' && globalThis.Notification?.permission === 'granted';
    sound.addEventListener('change', () => this.setSound(sound.checked));
    desktop.addEventListener('change', () => this.setDesktop(desktop.checked));
    // After a reload the switch is on but the page has had no click yet: the first one
    // (anywhere) lets the tone play.
    const prime = () => { if (this.soundBox.checked) this.prime(); };
    document.addEventListener('pointerdown', prime, { capture: true });
    document.addEventListener('keydown', prime, { capture: true });
  }

  /** @param {boolean} on */
  setSound(on) {
    localStorage.setItem(SOUND_KEY, on ? 'on' : 'off');
    if (on) {
      this.prime();
      this.chime();
    }
    this.note.textContent = on ? 'Sound on: a tone plays for each new offer.' : 'Sound off.';
  }

  /** @param {boolean} on */
  async setDesktop(on) {
    if (!on) {
      localStorage.setItem(DESKTOP_KEY, 'off');
      this.note.textContent = 'Desktop notifications off.';
      return;
    }
    const N = globalThis.Notification;
    const permission = N ? (N.permission === 'default' ? await N.requestPermission() : N.permission) : 'denied';
    if (permission !== 'granted') {
      this.desktopBox.checked = false;
      localStorage.setItem(DESKTOP_KEY, 'off');
      this.note.textContent = N
        ? 'This browser blocks notifications from this page: allow them in the site settings (the icon left of the address), then turn this on again.'
        : 'This browser cannot show desktop notifications.';
      return;
    }
    localStorage.setItem(DESKTOP_KEY, 'on');
    this.note.textContent = 'Desktop notifications on, for offers that come while this tab is hidden.';
  }

  prime() {
    if (this.audio) {
      if (this.audio.state === 'suspended') this.audio.resume().catch(() => { /* still not allowed */ });
      return;
    }
    const Ctx = globalThis.AudioContext ?? /** @type {any} */ (globalThis).webkitAudioContext;
    if (!Ctx) return;
    try {
      this.audio = new Ctx();
    } catch { /* no audio device: the title count and notifications still work */ }
  }

  /**
   * A new offer: a tone, and a desktop notification while the tab is hidden (a visible
   * console shows the offer itself). Clicking the notification brings the console back.
   * @param {{title: string, body: string, tag: string, onClick: () => void}} o
   */
  offer({ title, body, tag, onClick }) {
    if (this.soundBox.checked) this.chime();
    if (!this.desktopBox.checked || document.visibilityState === 'visible') return;
    if (globalThis.Notification?.permission !== 'granted') return;
    const n = new Notification(title, { body, tag });
    n.onclick = () => {
      window.focus();
      onClick();
      n.close();
    };
  }

  /** Offers and unread messages waiting: "(3) Porch agent console", or the plain title. */
  /** @param {number} count */
  title(count) {
    const wanted = count > 0 ? `(${count}) ${this.baseTitle}` : this.baseTitle;
    if (document.title !== wanted) document.title = wanted;
  }

  chime() {
    const ctx = this.audio;
    if (!ctx) return;
    if (ctx.state === 'suspended') ctx.resume().catch(() => { /* not allowed: silent */ });
    for (const startMs of [0, TONE_MS + TONE_GAP_MS]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = TONE_HZ;
      const t = ctx.currentTime + startMs / 1000;
      // A ramp up and down: a square edge would click.
      gain.gain.setValueAtTime(0, t);
      gain.gain.linearRampToValueAtTime(TONE_GAIN, t + 0.01);
      gain.gain.linearRampToValueAtTime(0, t + TONE_MS / 1000);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t);
      osc.stop(t + TONE_MS / 1000);
    }
  }
}
