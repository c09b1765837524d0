/* Mostrador — utilidades compartidas del panel (/) y del chat de invitados (/chat/).
 * Sin dependencias. Todo texto que venga de datos se inserta con textContent / createElement:
 * este archivo no usa innerHTML. */
(function (global) {
  'use strict';

  const M = {};

  /* ------------------------------------------------------------------ DOM */

  /** Crea un elemento. props: class, text, dataset, style{}, on<evento>: función, resto = atributos. */
  function h(tag, props) {
    const el = document.createElement(tag);
    if (props) {
      for (const key of Object.keys(props)) {
        const v = props[key];
        if (v === null || v === undefined || v === false) continue;
        if (key === 'class' || key === 'className') el.className = v;
        else if (key === 'text') el.textContent = String(v);
        else if (key === 'dataset') { for (const d of Object.keys(v)) if (v[d] !== null && v[d] !== undefined) el.dataset[d] = String(v[d]); }
        else if (key === 'style' && typeof v === 'object') Object.assign(el.style, v);
        else if (key.slice(0, 2) === 'on') { if (typeof v === 'function') el.addEventListener(key.slice(2).toLowerCase(), v); }
        else if (v === true) el.setAttribute(key, '');
        else el.setAttribute(key, String(v));
      }
    }
    for (let i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(parent, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach((c) => append(parent, c)); return; }
    if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
  function clear(el) { while (el && el.firstChild) el.removeChild(el.firstChild); return el; }
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  M.h = h; M.append = append; M.clear = clear; M.$ = $; M.$$ = $$;

  /* ---------------------------------------------------------- utilidades */

  /** UUID v4. crypto.randomUUID solo existe en contextos seguros (https/localhost). */
  M.uuid = function () {
    if (global.crypto && typeof global.crypto.randomUUID === 'function') {
      try { return global.crypto.randomUUID(); } catch (e) { /* contexto no seguro */ }
    }
    const b = new Uint8Array(16);
    if (global.crypto && global.crypto.getRandomValues) global.crypto.getRandomValues(b);
    else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const x = Array.from(b, (n) => n.toString(16).padStart(2, '0')).join('');
    return x.slice(0, 8) + '-' + x.slice(8, 12) + '-' + x.slice(12, 16) + '-' + x.slice(16, 20) + '-' + x.slice(20);
  };

  M.debounce = function (fn, ms) {
    let t = null;
    const d = function () { const args = arguments; clearTimeout(t); t = setTimeout(() => fn.apply(null, args), ms); };
    d.cancel = () => clearTimeout(t);
    return d;
  };

  M.truncate = function (s, n) {
    s = String(s == null ? '' : s).replace(/\s+/g, ' ').trim();
    return s.length > n ? s.slice(0, n - 1).trimEnd() + '…' : s;
  };

  const LOCALE = 'es-MX';
  const fmtTime = new Intl.DateTimeFormat(LOCALE, { hour: '2-digit', minute: '2-digit' });
  const fmtDayTime = new Intl.DateTimeFormat(LOCALE, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  const fmtFull = new Intl.DateTimeFormat(LOCALE, { dateStyle: 'full', timeStyle: 'medium' });
  const fmtShortDate = new Intl.DateTimeFormat(LOCALE, { day: 'numeric', month: 'short' });

  M.parseDate = function (v) {
    if (!v) return null;
    const d = new Date(v);
    return isNaN(d.getTime()) ? null : d;
  };
  /** "10:30" hoy, "5 feb 10:30" otro día. */
  M.formatTime = function (v) {
    const d = M.parseDate(v);
    if (!d) return '';
    const now = new Date();
    return d.toDateString() === now.toDateString() ? fmtTime.format(d) : fmtDayTime.format(d);
  };
  M.formatFull = function (v) { const d = M.parseDate(v); return d ? fmtFull.format(d) : ''; };
  /** "2026-11-20" → "20 nov" (sin desfase de zona horaria). */
  M.formatDay = function (ymd) {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(ymd || ''));
    if (!m) return String(ymd || '');
    return fmtShortDate.format(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  };
  M.relativeTime = function (v) {
    const d = M.parseDate(v);
    if (!d) return '—';
    const s = Math.round((Date.now() - d.getTime()) / 1000);
    if (s < 45) return 'hace un momento';
    const min = Math.round(s / 60);
    if (min < 60) return 'hace ' + min + ' min';
    const hrs = Math.round(min / 60);
    if (hrs < 24) return 'hace ' + hrs + ' h';
    const days = Math.round(hrs / 24);
    if (days < 7) return days === 1 ? 'ayer' : 'hace ' + days + ' días';
    return fmtDayTime.format(d);
  };
  M.formatDuration = function (seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return '—';
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return seconds + ' s';
    const m = Math.round(seconds / 60);
    if (m < 60) return m + ' min';
    const hh = Math.floor(m / 60), mm = m % 60;
    if (hh < 24) return hh + ' h' + (mm ? ' ' + mm + ' min' : '');
    const dd = Math.floor(hh / 24), rh = hh % 24;
    return dd + ' d' + (rh ? ' ' + rh + ' h' : '');
  };
  M.formatBytes = function (n) {
    n = Number(n) || 0;
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(n < 10240 ? 1 : 0) + ' KB';
    return (n / 1024 / 1024).toFixed(1) + ' MB';
  };

  /* ----------------------------------------------------------------- API */

  let authProvider = () => null;
  M.setAuthProvider = function (fn) { authProvider = fn; };
  M.onUnauthorized = null;

  /**
   * fetch con JSON. Nunca lanza: devuelve {ok, status, data, headers, networkError}.
   * opts: method, body (objeto → JSON), auth (cadena para Authorization; false = sin cabecera;
   * undefined = la del proveedor), timeout (ms), blob (true → data es Blob si ok), handle401.
   */
  M.api = async function (path, opts) {
    opts = opts || {};
    const headers = { Accept: 'application/json' };
    let body;
    if (opts.body !== undefined) { headers['Content-Type'] = 'application/json'; body = JSON.stringify(opts.body); }
    const auth = opts.auth === undefined ? authProvider() : opts.auth;
    if (auth) headers.Authorization = auth;
    const ctrl = typeof AbortController !== 'undefined' ? new AbortController() : null;
    const timer = ctrl ? setTimeout(() => ctrl.abort(), opts.timeout || 20000) : null;
    let res;
    try {
      res = await fetch(path, {
        method: opts.method || 'GET', headers, body, cache: 'no-store', credentials: 'same-origin',
        signal: ctrl ? ctrl.signal : undefined,
      });
    } catch (e) {
      clearTimeout(timer);
      return { ok: false, status: 0, data: null, headers: new Headers(), networkError: true, timedOut: !!(e && e.name === 'AbortError') };
    }
    let data = null;
    try {
      if (opts.blob && res.ok) data = await res.blob();
      else {
        const text = await res.text();
        if (text) { try { data = JSON.parse(text); } catch (e) { data = { detail: text.slice(0, 300) }; } }
      }
    } catch (e) {
      clearTimeout(timer);
      return { ok: false, status: 0, data: null, headers: res.headers, networkError: true };
    }
    clearTimeout(timer);
    if (res.status === 401 && opts.handle401 !== false && typeof M.onUnauthorized === 'function') {
      try { M.onUnauthorized(data); } catch (e) { /* nada */ }
    }
    return { ok: res.ok, status: res.status, data, headers: res.headers, networkError: false };
  };

  /** Texto legible de un error de M.api. */
  M.errorText = function (res, fallback) {
    if (!res) return fallback || 'Error desconocido';
    if (res.networkError) return res.timedOut ? 'El servidor tardó demasiado en responder' : 'No se pudo conectar con el servidor';
    const d = res.data;
    if (d && typeof d === 'object') {
      if (typeof d.detail === 'string' && d.detail) return d.detail;
      if (typeof d.error === 'string' && d.error) return d.error;
      if (typeof d.message === 'string' && d.message) return d.message;
    }
    return fallback || ('Error ' + res.status);
  };

  /** Una ruta que no existe en el servidor (la función aún no está desplegada). */
  M.isMissingEndpoint = function (res) {
    return !!res && (res.status === 404 || res.status === 405 || res.status === 501);
  };

  /** URL ws:// o wss:// relativa a la página. */
  M.wsUrl = function (path) {
    const proto = global.location.protocol === 'https:' ? 'wss:' : 'ws:';
    return proto + '//' + global.location.host + path;
  };

  /* -------------------------------------------------------------- avisos */

  /** Los avisos deben verse sobre los diálogos modales (capa superior): se usa un popover manual. */
  function toastBox() {
    let box = document.getElementById('toasts');
    if (!box) { box = h('div', { id: 'toasts', class: 'toasts', 'aria-live': 'polite' }); document.body.appendChild(box); }
    if (typeof box.showPopover === 'function') {
      if (!box.hasAttribute('popover')) box.setAttribute('popover', 'manual');
      try { if (box.matches(':popover-open')) box.hidePopover(); box.showPopover(); } catch (e) { /* nada */ }
    } else {
      const open = document.querySelectorAll('dialog[open]');
      const host = open.length ? open[open.length - 1] : document.body;
      if (box.parentNode !== host) host.appendChild(box);
    }
    return box;
  }
  function hideToastBoxIfEmpty(box) {
    if (box.children.length) return;
    if (typeof box.hidePopover === 'function') { try { if (box.matches(':popover-open')) box.hidePopover(); } catch (e) { /* nada */ } }
  }

  M.toast = function (text, kind, opts) {
    opts = opts || {};
    const box = toastBox();
    const close = h('button', { type: 'button', 'aria-label': 'Cerrar aviso', text: '✕' });
    const t = h('div', { class: 'toast toast-' + (kind || 'info'), role: kind === 'error' ? 'alert' : 'status' },
      h('div', null, opts.title ? h('span', { class: 'toast-title', text: opts.title }) : null, h('span', { text })),
      close);
    const remove = () => { if (t.parentNode) { const b = t.parentNode; b.removeChild(t); hideToastBoxIfEmpty(b); } };
    close.addEventListener('click', remove);
    box.appendChild(t);
    setTimeout(remove, opts.timeout || (kind === 'error' || kind === 'warning' ? 8000 : 4500));
    return t;
  };

  /* ------------------------------------------------- canal en tiempo real */

  /** Unifica los formatos {type, ...} y {tipo, data: {...}} de la guía 003. */
  M.normalizeEvent = function (raw) {
    if (!raw || typeof raw !== 'object') return null;
    const type = raw.type || raw.tipo || raw.event || raw.evento || '';
    let data = raw;
    if (raw.data && typeof raw.data === 'object' && !Array.isArray(raw.data)) data = Object.assign({}, raw, raw.data);
    return { type: String(type), data, raw };
  };

  /**
   * WebSocket con respaldo de consulta periódica.
   * o.wsUrl(): URL; o.poll(): Promise<boolean> (true si el servidor respondió);
   * o.onEvent(evento); o.onMode('websocket'|'polling'|'offline'); o.onOpen();
   * o.pollInterval (5000); o.safetyInterval (30000, consulta de seguridad con el socket abierto).
   */
  class LiveChannel {
    constructor(o) {
      this.o = Object.assign({ pollInterval: 5000, safetyInterval: 30000, heartbeatInterval: 25000 }, o);
      this.mode = null;
      this.ws = null;
      this.stopped = true;
      this.attempt = 0;
      this.pollTimer = null;
      this.reconnectTimer = null;
      this.heartbeatTimer = null;
      this.lastPollOk = true;
      this.polling = false;
    }
    start(initialOk) {
      this.stopped = false;
      this.lastPollOk = initialOk !== false;
      this.setMode(this.lastPollOk ? 'polling' : 'offline');
      this.schedulePoll(this.lastPollOk ? this.o.pollInterval : 1000);
      this.connect();
    }
    isOpen() { return !!this.ws && this.ws.readyState === 1; }
    setMode(m) {
      if (this.mode === m) return;
      this.mode = m;
      if (this.o.onMode) this.o.onMode(m);
    }
    connect() {
      if (this.stopped) return;
      if (typeof WebSocket === 'undefined') return;
      let ws;
      try { ws = new WebSocket(this.o.wsUrl()); } catch (e) { this.scheduleReconnect(); return; }
      this.ws = ws;
      let openedAt = 0;
      ws.onopen = () => {
        if (this.stopped || this.ws !== ws) return;
        openedAt = Date.now();
        this.setMode('websocket');
        clearInterval(this.heartbeatTimer);
        this.heartbeatTimer = setInterval(() => this.send('heartbeat'), this.o.heartbeatInterval);
        this.schedulePoll(this.o.safetyInterval);
        if (this.o.onOpen) { try { this.o.onOpen(); } catch (e) { /* nada */ } }
      };
      ws.onmessage = (ev) => {
        if (this.stopped || this.ws !== ws) return;
        let parsed;
        try { parsed = JSON.parse(ev.data); } catch (e) { return; }
        const list = Array.isArray(parsed) ? parsed : [parsed];
        for (const item of list) {
          const n = M.normalizeEvent(item);
          if (n && this.o.onEvent) { try { this.o.onEvent(n); } catch (e) { if (global.console) console.error(e); } }
        }
      };
      ws.onerror = () => { /* el cierre llega después */ };
      ws.onclose = () => {
        clearInterval(this.heartbeatTimer);
        this.heartbeatTimer = null;
        if (this.ws === ws) this.ws = null;
        if (this.stopped) return;
        if (openedAt && Date.now() - openedAt > 15000) this.attempt = 0;
        this.setMode(this.lastPollOk ? 'polling' : 'offline');
        // Si estuvo abierto, la consulta iba a 30 s: volver a 5 s ya. Si nunca abrió, la consulta sigue su ritmo.
        if (openedAt) this.schedulePoll(0);
        this.scheduleReconnect();
      };
    }
    scheduleReconnect() {
      if (this.stopped) return;
      const delays = [3000, 6000, 12000, 24000, 45000, 60000];
      const d = delays[Math.min(this.attempt, delays.length - 1)] + Math.floor(Math.random() * 1000);
      this.attempt++;
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = setTimeout(() => this.connect(), d);
    }
    /** Envía {type, tipo, data} por el socket (formato de la guía 003). */
    send(type, data) {
      if (!this.isOpen()) return false;
      try {
        this.ws.send(JSON.stringify({ type, tipo: type, data: Object.assign({ timestamp: new Date().toISOString() }, data || {}) }));
        return true;
      } catch (e) { return false; }
    }
    schedulePoll(delay) {
      clearTimeout(this.pollTimer);
      if (this.stopped) return;
      this.pollTimer = setTimeout(() => this.runPoll(), delay);
    }
    async runPoll() {
      if (this.stopped) return;
      if (this.polling) { this.schedulePoll(500); return; }
      this.polling = true;
      let ok = false;
      try { ok = await this.o.poll(); } catch (e) { ok = false; }
      this.polling = false;
      if (this.stopped) return;
      this.lastPollOk = ok !== false;
      if (this.isOpen()) this.schedulePoll(this.o.safetyInterval);
      else {
        this.setMode(this.lastPollOk ? 'polling' : 'offline');
        this.schedulePoll(this.o.pollInterval);
      }
    }
    /** Consulta ya (por ejemplo tras un cambio local). */
    pollNow() { if (!this.stopped) this.schedulePoll(0); }
    stop() {
      this.stopped = true;
      clearTimeout(this.pollTimer); clearTimeout(this.reconnectTimer); clearInterval(this.heartbeatTimer);
      const ws = this.ws;
      this.ws = null;
      if (ws) {
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        try { ws.close(1000, 'Cliente desconectado'); } catch (e) { /* nada */ }
      }
    }
  }
  M.LiveChannel = LiveChannel;

  /* -------------------------------------------- modo de conexión (UI) */
  M.CONNECTION_TEXT = {
    websocket: 'en vivo',
    polling: 'actualizando cada 5 s',
    offline: 'sin conexión',
  };
  M.renderConnection = function (el, mode) {
    if (!el) return;
    el.dataset.mode = mode;
    clear(el);
    el.appendChild(h('span', { class: 'dot', 'aria-hidden': 'true' }));
    el.appendChild(h('span', { class: 'conn-text', text: M.CONNECTION_TEXT[mode] || mode }));
    el.setAttribute('title', mode === 'websocket' ? 'Conectado en tiempo real (WebSocket)'
      : mode === 'polling' ? 'Sin tiempo real: se consulta el servidor cada 5 segundos'
        : 'No se puede contactar al servidor; se reintentará');
  };

  global.Mostrador = M;
})(window);
