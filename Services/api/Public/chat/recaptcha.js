/* Mostrador — la verificación anti-robots (reCAPTCHA) del paso «Tus datos», como la pide GET /api/chat/config:
 *   {recaptcha: null}  no hay verificación: complete_chat va con recaptcha_token vacío, como siempre;
 *   v2                 la casilla «No soy un robot» (render explícito en #recaptcha-widget): sin marcarla no se
 *                      envía nada, y tras un envío que el servidor ya verificó (o rechazó) se reinicia;
 *   v3                 sin casilla: cada envío pide un token con la acción `complete_chat`.
 * La política de la página no admite scripts en línea: el script de Google se añade desde aquí, y la función
 * `onload` que nombra su URL (v2) se define en window antes de añadir la etiqueta. Si el script no carga, el
 * formulario lo dice y no se envía un token vacío. */
import { api } from '../lib/api.js';
import { showText } from '../lib/dom.js';

export const LOAD_ERROR = 'No se pudo cargar la verificación anti-robots; revisa tu conexión y recarga la página.';
const LOADING = 'La verificación anti-robots aún se está cargando; espera un momento y vuelve a intentarlo.';
const UNSOLVED = 'Marca la casilla «No soy un robot» antes de iniciar el chat.';
const EXPIRED = 'La verificación anti-robots caducó; vuelve a marcar la casilla «No soy un robot».';
const WIDGET_ERROR = 'La verificación anti-robots perdió la conexión; revisa tu conexión y vuelve a marcar la casilla.';
const EXECUTE_ERROR = 'No se pudo completar la verificación anti-robots; vuelve a intentarlo.';
/** La función global que el script de v2 llama al cargar (`?onload=`). */
export const ONLOAD = 'mostradorRecaptchaOnload';
const ACTION = 'complete_chat';
const LOAD_TIMEOUT = 20000;
const EXECUTE_TIMEOUT = 15000;

/** La parte `recaptcha` de la configuración: null (apagado) o {siteKey, version, scriptUrl}; `invalid` si no sirve. */
function parseConfig(r) {
  if (r === null || r === undefined) return null;
  const siteKey = typeof r.site_key === 'string' ? r.site_key : '';
  const version = r.version === 'v3' ? 'v3' : 'v2';
  let scriptUrl = null;
  try {
    const url = new URL(String(r.script_url || 'https://www.google.com/recaptcha/api.js'), location.href);
    if (url.protocol === 'https:' || url.protocol === 'http:') scriptUrl = url;
  } catch (e) { /* se trata como un script que no carga */ }
  return { siteKey, version, scriptUrl, invalid: !siteKey || !scriptUrl };
}

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), ms); }),
  ]).finally(() => clearTimeout(timer));
}

export class Recaptcha {
  /** els: field (el grupo), widget (donde va la casilla), label, note (aviso de v3) y error (el aviso del campo). */
  constructor(els) {
    this.els = els;
    /** undefined: aún no se sabe; null: apagado; si no, parseConfig(). */
    this.config = undefined;
    this.pending = null;
    /** idle → loading → ready | failed (un script que carga tarde aún pasa a ready). */
    this.state = 'idle';
    this.loaded = null;
    this.settle = () => {};
    this.timer = null;
    this.widgetId = null;
  }

  /** GET /api/chat/config, una vez (se reintenta si falló). true si ya se sabe si hay verificación. */
  configure() {
    if (this.config !== undefined) return Promise.resolve(true);
    if (!this.pending) {
      this.pending = api('/api/chat/config', { auth: false, handle401: false }).then((res) => {
        this.pending = null;
        if (!res.ok || !res.data || typeof res.data !== 'object') return false;
        this.config = parseConfig(res.data.recaptcha);
        return true;
      });
    }
    return this.pending;
  }

  /** El formulario está por mostrarse: carga el script (una vez) si la verificación está encendida. */
  async prepare() {
    if (!(await this.configure()) || !this.config) return;
    if (this.state === 'idle') this.load();
  }

  load() {
    const c = this.config;
    const { field, label, note } = this.els;
    field.hidden = false;
    label.hidden = c.version === 'v3';
    note.hidden = c.version !== 'v3';
    this.state = 'loading';
    this.loaded = new Promise((resolve) => { this.settle = resolve; });
    if (c.invalid) { this.fail(); return; }
    const url = new URL(c.scriptUrl.href);
    if (c.version === 'v2') {
      url.searchParams.set('render', 'explicit');
      url.searchParams.set('onload', ONLOAD);
      window[ONLOAD] = () => this.renderWidget();
    } else {
      url.searchParams.set('render', c.siteKey);
    }
    const script = document.createElement('script');
    script.src = url.href;
    script.async = true;
    script.addEventListener('error', () => this.fail());
    if (c.version === 'v3') {
      script.addEventListener('load', () => {
        // El cargador de Google define primero solo grecaptcha.ready; execute llega con el resto.
        const g = window.grecaptcha;
        if (g && typeof g.ready === 'function') this.ready(); else this.fail();
      });
    }
    this.timer = setTimeout(() => { if (this.state === 'loading') this.fail(); }, LOAD_TIMEOUT);
    document.head.appendChild(script);
  }

  /** v2: el script avisó que cargó; se dibuja la casilla en el formulario. */
  renderWidget() {
    if (this.widgetId !== null) return;
    try {
      this.widgetId = window.grecaptcha.render(this.els.widget, {
        sitekey: this.config.siteKey,
        hl: 'es',
        callback: () => this.showError(null),
        'expired-callback': () => this.showError(EXPIRED),
        'error-callback': () => this.showError(WIDGET_ERROR),
      });
    } catch (e) {
      this.fail();
      return;
    }
    this.ready();
  }

  ready() {
    clearTimeout(this.timer);
    this.state = 'ready';
    if (this.els.error.textContent === LOAD_ERROR) this.showError(null);
    this.settle(true);
  }

  fail() {
    if (this.state === 'ready') return;
    clearTimeout(this.timer);
    this.state = 'failed';
    this.showError(LOAD_ERROR);
    this.settle(false);
  }

  showError(text) {
    const el = this.els.error;
    // El mismo texto otra vez también se anuncia: se vacía antes de ponerlo.
    if (text && el.textContent === text) showText(el, null);
    showText(el, text);
  }

  /** ¿Está el campo en el formulario? (la verificación está encendida y su script se pidió) */
  get shown() {
    return !this.els.field.hidden;
  }

  /** Lleva el foco al campo (con su aviso) cuando el envío se detuvo por la verificación. */
  focus() {
    this.els.field.focus();
  }

  /**
   * Lo que va en recaptcha_token: {token} (vacío si no hay verificación o no se pudo saber: el servidor decide),
   * o {error}, el aviso que se muestra en lugar de enviar.
   */
  async token() {
    if (!(await this.configure())) return { token: '' };
    const c = this.config;
    if (!c) return { token: '' };
    if (this.state === 'idle') this.load();
    const g = () => window.grecaptcha;
    if (c.version === 'v2') {
      if (this.state === 'loading') return { error: LOADING };
      if (this.state !== 'ready') return { error: LOAD_ERROR };
      let token = '';
      try { token = g().getResponse(this.widgetId) || ''; } catch (e) { return { error: LOAD_ERROR }; }
      return token ? { token } : { error: UNSOLVED };
    }
    if (this.state === 'loading') await this.loaded;
    if (this.state !== 'ready') return { error: LOAD_ERROR };
    try {
      const token = await withTimeout(new Promise((resolve, reject) => {
        g().ready(() => {
          try { Promise.resolve(g().execute(c.siteKey, { action: ACTION })).then(resolve, reject); } catch (e) { reject(e); }
        });
      }), EXECUTE_TIMEOUT);
      return token ? { token: String(token) } : { error: EXECUTE_ERROR };
    } catch (e) {
      return { error: EXECUTE_ERROR };
    }
  }

  /** El servidor ya usó el token (los tokens valen una vez): v2 vuelve a pedir la casilla. */
  consumed() {
    if (this.state === 'ready' && this.widgetId !== null) {
      try { window.grecaptcha.reset(this.widgetId); } catch (e) { /* la casilla se quedó como estaba */ }
    }
  }

  /** El servidor rechazó la verificación: v2 reinicia la casilla; si la configuración no se pudo leer, se reintenta. */
  rejected() {
    this.consumed();
    if (this.config === undefined) this.prepare();
  }
}
