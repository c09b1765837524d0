/* Mostrador — canal en tiempo real: WebSocket con respaldo de consulta periódica, y el aviso de «escribiendo».
 * Tramas de la guía 003: el servidor manda {tipo, data}; el cliente manda {tipo, data}. */
import { h } from './dom.js';

/**
 * o.url(): URL del WebSocket (o Promise de ella; null: no se pudo, se reintenta); o.poll(): Promise<boolean>
 * (true si el servidor respondió);
 * o.onFrame(tipo, data); o.onMode('websocket'|'polling'|'offline'); o.onOpen();
 * o.pollInterval (5000); o.safetyInterval (30000: consulta de seguridad con el socket abierto).
 * La trama `resync` (el servidor dejó de mandar tramas porque esta página se quedó atrás; cierra el socket
 * enseguida) no llega a onFrame: se vuelve a consultar la conversación ya y se reconecta pronto.
 * Tampoco llega a onFrame la respuesta que espera request().
 */
export class LiveChannel {
  constructor(o) {
    this.o = { pollInterval: 5000, safetyInterval: 30000, heartbeatInterval: 25000, ...o };
    this.mode = null;
    this.ws = null;
    this.stopped = true;
    this.attempt = 0;
    this.pollTimer = null;
    this.reconnectTimer = null;
    this.heartbeatTimer = null;
    this.lastPollOk = true;
    this.polling = false;
    this.resyncing = false;
    /** La petición de request() que espera respuesta: {replies: Set de tipos, done(trama o null)}. */
    this.waiter = null;
  }

  start(initialOk) {
    this.stopped = false;
    this.lastPollOk = initialOk !== false;
    this.setMode(this.lastPollOk ? 'polling' : 'offline');
    this.schedulePoll(this.lastPollOk ? this.o.pollInterval : 1000);
    this.connect();
  }

  isOpen() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }

  setMode(m) {
    if (this.mode === m) return;
    this.mode = m;
    this.o.onMode?.(m);
  }

  async connect() {
    if (this.stopped) return;
    // Un intento más nuevo (reconnectNow) deja sin efecto el que aún esperaba su URL.
    const seq = this.connectSeq = (this.connectSeq || 0) + 1;
    let url = null;
    try { url = await this.o.url(); } catch (e) { url = null; }
    if (this.stopped || seq !== this.connectSeq) return;
    if (!url) { this.scheduleReconnect(); return; }
    let ws;
    try { ws = new WebSocket(url); } catch (e) { this.scheduleReconnect(); return; }
    this.ws = ws;
    let openedAt = 0;
    ws.onopen = () => {
      if (this.stopped || this.ws !== ws) return;
      openedAt = Date.now();
      this.setMode('websocket');
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = setInterval(() => this.send('heartbeat'), this.o.heartbeatInterval);
      this.schedulePoll(this.o.safetyInterval);
      this.o.onOpen?.();
    };
    ws.onmessage = (ev) => {
      if (this.stopped || this.ws !== ws) return;
      let frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (!frame || typeof frame.tipo !== 'string') return;
      if (frame.tipo === 'resync') { this.resync(); return; }
      if (this.waiter?.replies.has(frame.tipo)) {
        this.waiter.done({ tipo: frame.tipo, data: frame.data || {} });
        return;
      }
      try { this.o.onFrame?.(frame.tipo, frame.data || {}); } catch (e) { console.error(e); }
    };
    ws.onclose = () => {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = null;
      if (this.ws === ws) this.ws = null;
      this.waiter?.done(null);
      if (this.stopped) return;
      if (openedAt && Date.now() - openedAt > 15000) this.attempt = 0;
      this.setMode(this.lastPollOk ? 'polling' : 'offline');
      // Si estuvo abierto, la consulta iba a 30 s: volver a 5 s ya. Si nunca abrió, la consulta sigue su ritmo.
      if (openedAt) this.schedulePoll(0);
      if (this.resyncing) {
        // Cerrado tras `resync`: volver en cuanto la consulta haya recargado lo perdido.
        this.resyncing = false;
        clearTimeout(this.reconnectTimer);
        this.reconnectTimer = setTimeout(() => this.connect(), 500 + Math.floor(Math.random() * 500));
        return;
      }
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

  /**
   * «Reconectar»: intenta el WebSocket ya, sin esperar el siguiente reintento (que se aleja cada vez más), y consulta
   * ya. Un intento que seguía conectando se abandona. false si ya está abierto o el canal está detenido.
   */
  reconnectNow() {
    if (this.stopped || this.isOpen()) return false;
    clearTimeout(this.reconnectTimer);
    this.attempt = 0;
    const old = this.ws;
    if (old) {
      this.ws = null;
      old.onopen = old.onmessage = old.onclose = null;
      try { old.close(); } catch (e) { /* ya cerrado */ }
    }
    this.pollNow();
    this.connect();
    return true;
  }

  /** Envía {tipo, data} por el socket; false si no está abierto. */
  send(tipo, data) {
    if (!this.isOpen()) return false;
    try {
      this.ws.send(JSON.stringify({ tipo, data: { timestamp: new Date().toISOString(), ...data } }));
      return true;
    } catch (e) { return false; }
  }

  /**
   * Envía {tipo, data} y espera la respuesta: la primera trama cuyo tipo esté en `replies`, o una trama `error`
   * (ninguna de las dos llega a onFrame). Resuelve {tipo, data}, o null si el socket no está abierto, se cierra
   * antes o pasan `timeout` ms. Las tramas de la guía 003 no llevan número de petición: una petición a la vez
   * (mientras otra espera, resuelve null sin enviar nada).
   */
  request(tipo, data, replies, timeout = 15000) {
    if (this.waiter) return Promise.resolve(null);
    return new Promise((resolve) => {
      let timer = null;
      const waiter = {
        replies: new Set([...replies, 'error']),
        done: (frame) => {
          clearTimeout(timer);
          if (this.waiter === waiter) this.waiter = null;
          resolve(frame);
        },
      };
      this.waiter = waiter;
      timer = setTimeout(() => waiter.done(null), timeout);
      if (!this.send(tipo, data)) waiter.done(null);
    });
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

  /** El servidor no mandó tramas que esta página necesitaba: recargar la conversación (lo que hubo desde la
   * última consulta, y los estados que aún pueden cambiar) y reconectar. */
  resync() {
    if (this.stopped) return;
    this.resyncing = true;
    this.pollNow();
  }

  stop() {
    this.stopped = true;
    this.waiter?.done(null);
    clearTimeout(this.pollTimer); clearTimeout(this.reconnectTimer); clearInterval(this.heartbeatTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try { ws.close(1000, 'Cliente desconectado'); } catch (e) { /* ya cerrado */ }
    }
  }
}

const MODE_TEXT = { websocket: 'en vivo', polling: 'actualizando cada 5 s', offline: 'sin conexión' };
const MODE_TITLE = {
  websocket: 'Conectado en tiempo real (WebSocket)',
  polling: 'Sin tiempo real: se consulta el servidor cada 5 segundos',
  offline: 'No se puede contactar al servidor; se reintentará',
};

/** La pastilla «en vivo / actualizando / sin conexión» (#connection-status). */
export function renderConnection(el, mode) {
  el.dataset.mode = mode;
  el.replaceChildren(h('span', { class: 'dot', 'aria-hidden': 'true' }), h('span', { class: 'conn-text', text: MODE_TEXT[mode] }));
  el.title = MODE_TITLE[mode];
}

/**
 * «Escribiendo…» en los dos sentidos: avisa al otro lado mientras se escribe (typing_start / typing_stop)
 * y muestra `indicator` cuando el otro lado escribe (se oculta solo a los 6 s).
 */
export class Typing {
  constructor(indicator) {
    this.indicator = indicator;
    this.channel = null;
    this.sent = false;
    this.stopTimer = null;
    this.hideTimer = null;
  }

  /** El texto del compositor cambió. */
  input(text) {
    if (!this.channel || !this.channel.isOpen()) return;
    if (!text.trim()) { this.stop(); return; }
    if (!this.sent) this.sent = this.channel.send('typing_start');
    clearTimeout(this.stopTimer);
    this.stopTimer = setTimeout(() => this.stop(), 3000);
  }

  stop() {
    clearTimeout(this.stopTimer);
    if (this.sent && this.channel) this.channel.send('typing_stop');
    this.sent = false;
  }

  show() {
    this.indicator.hidden = false;
    clearTimeout(this.hideTimer);
    this.hideTimer = setTimeout(() => this.hide(), 6000);
  }

  hide() {
    clearTimeout(this.hideTimer);
    this.indicator.hidden = true;
  }

  /** Fin de la conversación: avisa que ya no se escribe y olvida los temporizadores. */
  reset() {
    this.stop();
    this.hide();
    this.channel = null;
  }
}
