/* Mostrador — una conversación en pantalla, la misma para el panel (/) y el chat de invitados (/chat/):
 * la forma única de un mensaje, las burbujas, la mezcla de lo que llega por consulta y por WebSocket sin
 * duplicar, los mensajes pendientes de confirmar y el estado de entrega. Nunca innerHTML. */
import { h, nearBottom } from './dom.js';
import { dayKey, dayLabel, formatFull, formatTime, truncate } from './format.js';
import { icon, withIcon } from './icons.js';

/* ------------------------------------------------------------------ la forma de un mensaje */

/**
 * {id, role: user|tecnico|assistant|system, content, timestamp, tipo: text|image|file, adjunto_url, adjunto_tipo,
 *  estado_entrega, intento, error_entrega, leido (true/false; null = la fuente no lo dice), autor (nombre o null),
 *  responde_a (la cita: {id, role, contenido}; null si no responde a otro)}
 * y, mientras se envía, localStatus (sending|error), localError, retryable, retried, clientId.
 */
function message(fields) {
  return {
    id: null, role: 'system', content: '', timestamp: null, tipo: 'text', adjunto_url: null, adjunto_tipo: null,
    estado_entrega: null, intento: null, error_entrega: null, leido: null, autor: null, responde_a: null, ...fields,
  };
}

/** Hasta cuántos caracteres del texto citado trae `responde_a` (lo mismo que el servidor). */
const QUOTE_CHARS = 200;

/** `responde_a` tal como llega del servidor ({id, role, contenido}), o null si falta o no tiene esa forma. */
function quoteFrom(q) {
  if (!q || typeof q !== 'object' || !Number.isInteger(q.id)) return null;
  return { id: q.id, role: String(q.role || 'system'), contenido: String(q.contenido ?? '') };
}

/** La cita de un mensaje en pantalla, para responderle: la misma forma que `responde_a`. */
export function quoteOf(m) {
  return { id: m.id, role: m.role, contenido: String(m.content ?? '').slice(0, QUOTE_CHARS) };
}

/** Un elemento de `historial` de GET /ticket/{id}/conversacion. */
export function fromConversation(m) {
  return message({
    id: m.id, role: m.role, content: m.content, timestamp: m.timestamp, tipo: m.tipo,
    adjunto_url: m.adjunto_url ?? null, adjunto_tipo: m.adjunto_tipo ?? null,
    estado_entrega: m.estado_entrega ?? null, intento: m.intento ?? null, error_entrega: m.error_entrega ?? null,
    responde_a: quoteFrom(m.responde_a),
  });
}

const FRAME_TIPO = { TEXTO: 'text', IMAGEN: 'image', ARCHIVO: 'file' };

/** Un mensaje de una trama del WebSocket (`mensaje_recibido`, `connection_established.historial_reciente`). */
function fromFrame(m) {
  return message({
    id: m.id, role: m.role, content: m.content, timestamp: m.timestamp, tipo: FRAME_TIPO[m.tipo] || 'text',
    adjunto_url: m.adjunto_url ?? null, adjunto_tipo: m.archivos?.[0]?.tipo_mime ?? null,
    estado_entrega: m.estado_entrega ?? null, intento: m.intento, error_entrega: m.error_entrega ?? null,
    leido: m.estado === 'LEIDO', autor: m.autor.nombre, responde_a: quoteFrom(m.responde_a),
  });
}

/** Un mensaje de GET /api/chatrooms/{room}/messages/ o de POST /api/chat/send_message/ (seed 002). */
export function fromRoomMessage(m) {
  const agent = m.agent_sender?.user;
  return message({
    id: m.id, role: m.role, content: m.content, timestamp: m.created_at, tipo: m.message_type,
    adjunto_url: m.adjunto_url ?? null, estado_entrega: m.estado_entrega ?? null, leido: m.is_read,
    autor: agent ? [agent.first_name, agent.last_name].filter(Boolean).join(' ') || null : null,
    responde_a: quoteFrom(m.responde_a),
  });
}

/* ------------------------------------------------------------------ estado de entrega */

const STATUS = {
  sending: { icon: 'clock', label: 'Enviando…' },
  queued: { icon: 'clock', label: 'En cola' },
  sent: { icon: 'check', label: 'Enviado' },
  delivered: { icon: 'check-double', label: 'Entregado' },
  read: { icon: 'check-double', label: 'Leído' },
  retrying: { icon: 'refresh', label: 'Reintentando' },
  waiting_bridge: { icon: 'pause', label: 'Esperando WhatsApp' },
  failed: { icon: 'x-circle', label: 'No entregado' },
  error: { icon: 'x-circle', label: 'No se pudo enviar' },
  stored: { icon: 'check', label: 'Guardado' },
};
/** Orden de los estados: uno más avanzado nunca se sustituye por uno anterior. */
const RANK = { sending: 0, queued: 1, retrying: 2, waiting_bridge: 2, sent: 3, delivered: 4, read: 5, failed: 5 };
/**
 * El orden en que el servidor aplica los informes de entrega (DeliveryStatus.rank): lo que llega por la consulta,
 * por `connection_established` o por una trama `estado_entrega` puede ser una foto más vieja que lo que ya se
 * muestra (una respuesta que tardó, un historial leído antes del informe) y no debe hacer retroceder la burbuja.
 */
const PROGRESS = { queued: 0, retrying: 1, waiting_bridge: 1, failed: 2, sent: 3, delivered: 4, read: 5 };

/** true si el estado `next` (con su intento) es anterior al que ya se muestra. */
export function isStale(current, next) {
  if (!current.estado_entrega || !next.estado_entrega) return false;
  const before = PROGRESS[current.estado_entrega] ?? 0;
  const after = PROGRESS[next.estado_entrega] ?? 0;
  if (after !== before) return after < before;
  return next.estado_entrega === current.estado_entrega && (next.intento ?? 0) < (current.intento ?? 0);
}

const ROLE_ICON = { user: 'user', tecnico: 'headset', assistant: 'bot', note: 'lock' };
export const ROLE_LABEL = { user: 'Cliente', tecnico: 'Técnico', assistant: 'Asistente', note: 'Nota privada' };

/** Quién escribió el mensaje citado, por omisión: «Tú» si es de esta página, si no el nombre del rol. */
function defaultQuoteAuthor(own) {
  return (role) => (role === own ? 'Tú' : ROLE_LABEL[role] || 'Sistema');
}

/** Cuánto dura el resaltado del mensaje citado al que se salta (ms). */
const HIGHLIGHT_MS = 1800;

function timeEl(ts) {
  return h('time', { datetime: ts || '', title: formatFull(ts), text: formatTime(ts) });
}

/* ------------------------------------------------------------------ la conversación */

/**
 * Los mensajes de un chat dentro de `box`, en orden de id; los pendientes de confirmar, al final.
 * view: {
 *   own: el rol de los mensajes que escribe esta página,
 *   outgoing: los roles cuyas burbujas llevan estado de entrega (por omisión, [own]),
 *   status(m): la clave de STATUS de un mensaje saliente,
 *   tracked(m): true mientras el estado de un mensaje saliente aún puede cambiar (la consulta lo vuelve a leer),
 *   author(m): el nombre sobre la burbuja,
 *   attachment(m)?: el nodo de un adjunto (sin ella, los adjuntos no se muestran),
 *   onRetry(m)?: reenviar un mensaje fallido (sin ella, la conversación es de solo lectura),
 *   onStatus(m)?: el estado de un mensaje saliente cambió,
 *   quoteAuthor(role)?: quién escribió un mensaje citado (por omisión «Tú» para `own`, si no el rol),
 *   onReply(m)?: responder citando `m` (sin ella, las burbujas no ofrecen «Responder»),
 *   onQuoteMissing(cita)?: se pulsó una cita cuyo mensaje no está cargado,
 * }
 */
export class Conversation {
  constructor(box, view) {
    this.box = box;
    this.view = view;
    this.outgoing = new Set(view.outgoing || [view.own]);
    this.quoteAuthor = view.quoteAuthor || defaultQuoteAuthor(view.own);
    this.msgs = new Map();
    this.els = new Map();
    this.pending = [];
    /** El id más alto que ha devuelto la consulta (el WebSocket no lo mueve: la consulta no se salta nada). */
    this.lastId = 0;
    /** El mensaje resaltado al saltar a él desde una cita: {el, timer}. */
    this.highlighted = null;
    /** Las líneas de aviso (notice) en pantalla, por clave. */
    this.notices = new Map();
    box.replaceChildren();
  }

  get size() { return this.msgs.size; }
  isOutgoing(m) { return this.outgoing.has(m.role); }
  messages() { return this.msgs.values(); }

  /** Un texto en lugar de los mensajes: cargando, vacío, error. */
  placeholder(text) {
    let ph = this.box.querySelector('.chat-placeholder');
    if (!ph) { ph = h('div', { class: 'chat-placeholder' }); this.box.appendChild(ph); }
    ph.textContent = text;
  }
  removePlaceholder() { this.box.querySelector('.chat-placeholder')?.remove(); }
  scrollToEnd() { this.box.scrollTop = this.box.scrollHeight; }

  /** Desde qué id consultar: el último leído, o antes si hay mensajes salientes cuyo estado aún puede cambiar. */
  cursor() {
    let desde = this.lastId;
    const recent = Array.from(this.msgs.keys()).sort((a, b) => b - a).slice(0, 40);
    for (const id of recent) {
      const m = this.msgs.get(id);
      if (this.isOutgoing(m) && this.view.tracked(m) && id - 1 < desde) desde = id - 1;
    }
    return Math.max(0, desde);
  }

  /**
   * Inserta los mensajes nuevos (por id, sin duplicar; un pendiente propio con el mismo texto se adopta) y
   * actualiza el estado de los que ya estaban. fromPoll: vienen de la consulta (mueven el cursor).
   * Devuelve los mensajes nuevos.
   */
  merge(msgs, fromPoll = false) {
    const stick = nearBottom(this.box);
    const added = [];
    for (const m of msgs) {
      if (fromPoll && m.id > this.lastId) this.lastId = m.id;
      const existing = this.msgs.get(m.id);
      if (existing) { this.update(existing, m); continue; }
      const p = this.adopt(m);
      if (p) p.el.remove();
      const el = p ? p.el : this.bubble(m);
      this.register(m, el);
      if (p) this.renderStatus(m);
      added.push(m);
    }
    if (added.length) {
      this.removePlaceholder();
      this.refreshDays();
      if (stick) this.scrollToEnd();
    }
    return added;
  }

  /** Nuevo estado de entrega (o de lectura) de un mensaje que ya está en pantalla. */
  update(existing, m) {
    const before = this.signature(existing);
    if (m.estado_entrega && !isStale(existing, m)) {
      existing.estado_entrega = m.estado_entrega;
      existing.intento = m.intento;
      existing.error_entrega = m.error_entrega;
      delete existing.localStatus;
    }
    if (m.leido !== null) existing.leido = m.leido;
    if (this.isOutgoing(existing) && this.signature(existing) !== before) {
      this.renderStatus(existing);
      this.view.onStatus?.(existing);
    }
  }

  /** Un cambio de estado que llega suelto (trama `estado_entrega`); false si el mensaje no está en pantalla. */
  updateStatus(id, fields) {
    const existing = this.msgs.get(id);
    if (!existing) return false;
    this.update(existing, { leido: null, ...fields });
    return true;
  }

  signature(m) { return this.view.status(m) + '|' + m.intento + '|' + m.error_entrega; }

  /** Vuelve a escribir el nombre sobre cada burbuja: view.author(m) puede decir más que al dibujarla (p. ej. el
   * panel supo después qué técnico escribió cada mensaje). */
  refreshAuthors() {
    const saved = Array.from(this.msgs, ([id, m]) => [this.els.get(id), m]);
    for (const [el, m] of [...saved, ...this.pending.map((p) => [p.el, p.msg])]) {
      const slot = el?.querySelector('.message-author');
      if (!slot) continue;
      const name = this.view.author(m);
      if (slot.textContent !== name) slot.textContent = name;
    }
  }

  /**
   * Una línea del sistema que no es un mensaje guardado (un aviso al cliente, p. ej. «Tu chat fue cerrado…»):
   * centrada como las notas, tras el último mensaje que no sea posterior a `timestamp`. `key` evita repetirla.
   * Lleva un data-message-id intermedio (p. ej. 41.5) para que los mensajes que lleguen después (register) queden
   * en su sitio respecto de ella. No cuenta en size ni mueve el cursor. Devuelve el elemento, o null si ya estaba.
   */
  notice(key, text, timestamp) {
    if (this.notices.has(key)) return null;
    const stick = nearBottom(this.box);
    const el = this.bubble(message({ role: 'system', content: text, timestamp }));
    el.classList.add('is-notice');
    el.dataset.notice = key;
    const at = Date.parse(timestamp);
    const placed = Array.from(this.box.children).filter((c) => c.dataset.messageId);
    const timeOf = (c) => Date.parse(c.querySelector('.message-meta time')?.getAttribute('datetime') || '');
    let i = placed.length;
    if (!isNaN(at)) while (i > 0 && timeOf(placed[i - 1]) > at) i--;
    const prev = placed[i - 1], next = placed[i];
    const prevId = prev ? Number(prev.dataset.messageId) : 0;
    el.dataset.messageId = String(next ? (prevId + Number(next.dataset.messageId)) / 2 : prevId + 0.5);
    if (next) next.before(el);
    else if (prev) prev.after(el); // antes de las burbujas pendientes, que van al final
    else this.box.prepend(el);
    this.notices.set(key, el);
    this.removePlaceholder();
    this.refreshDays();
    if (stick) this.scrollToEnd();
    return el;
  }

  /* ----- envío: burbuja pendiente → id del servidor ----- */

  /** Una burbuja propia «enviando…» hasta que el servidor confirme el id (bind) o falle (fail). quote: la cita
   * ({id, role, contenido}) si responde a otro mensaje; se ve ya en la burbuja y la conserva al reintentar. */
  addPending(text, clientId = null, quote = null) {
    const m = message({
      role: this.view.own, content: text, timestamp: new Date().toISOString(), localStatus: 'sending', clientId,
      responde_a: quote,
    });
    const el = this.bubble(m);
    el.dataset.pending = 'true';
    const p = { text, el, msg: m, adoptable: true };
    this.pending.push(p);
    this.removePlaceholder();
    this.box.appendChild(el);
    this.refreshDays();
    this.scrollToEnd();
    return p;
  }

  /** El servidor guardó el mensaje pendiente con este id (y, si lo dice, su estado de entrega). */
  bind(p, id, fields = {}) {
    this.dropPending(p);
    const existing = this.msgs.get(id);
    if (existing) {
      // La consulta o el WebSocket llegaron antes que la respuesta.
      if (this.els.get(id) !== p.el) { p.el.remove(); this.refreshDays(); }
      if ((RANK[fields.estado_entrega] || 0) > (RANK[existing.estado_entrega] || 0) || fields.estado_entrega === 'failed') {
        this.update(existing, { ...existing, ...fields });
      }
      return;
    }
    const m = p.msg;
    Object.assign(m, fields, { id });
    delete m.localStatus;
    p.el.remove();
    this.register(m, p.el);
    this.renderStatus(m);
    this.refreshDays();
    this.scrollToEnd();
  }

  /**
   * No se pudo enviar. opts.retryable: se ofrece reintentar; opts.maybeSaved: un corte de red o un 5xx pudo
   * haberlo guardado, así que si la consulta lo trae, adopta esta burbuja.
   */
  fail(p, reason, { retryable, maybeSaved }) {
    const m = p.msg;
    m.localStatus = 'error';
    m.localError = reason;
    m.retryable = retryable;
    p.adoptable = maybeSaved;
    this.renderStatus(m);
  }

  /** Quita de la pantalla un mensaje fallido que se va a reenviar como nuevo. */
  discard(m) {
    this.elOf(m)?.remove();
    const p = this.pending.find((x) => x.msg === m);
    if (p) this.dropPending(p);
    this.refreshDays();
  }

  /** Un mensaje rechazado por WhatsApp que ya se reenvió: sin botón de reintentar. */
  markRetried(m) {
    m.retried = true;
    this.renderStatus(m);
  }

  elOf(m) {
    return m.id !== null ? this.els.get(m.id) : this.pending.find((p) => p.msg === m)?.el;
  }

  dropPending(p) {
    const i = this.pending.indexOf(p);
    if (i >= 0) this.pending.splice(i, 1);
  }

  /** Un mensaje propio que llega del servidor con el mismo texto (y la misma cita) que uno pendiente: es ese. */
  adopt(m) {
    if (m.role !== this.view.own) return null;
    const quoted = m.responde_a?.id ?? null;
    const i = this.pending.findIndex((p) => p.adoptable && p.text === m.content.trim()
      && (p.msg.responde_a?.id ?? null) === quoted);
    if (i < 0) return null;
    return this.pending.splice(i, 1)[0];
  }

  register(m, el) {
    el.dataset.messageId = String(m.id);
    delete el.dataset.pending;
    this.msgs.set(m.id, m);
    this.els.set(m.id, el);
    this.addReplyButton(m, el);
    let before = null;
    for (const child of this.box.children) {
      if (child === el || child.classList.contains('chat-placeholder') || child.classList.contains('day-separator')) continue;
      if (!child.dataset.messageId || Number(child.dataset.messageId) > m.id) { before = child; break; }
    }
    this.box.insertBefore(el, before);
  }

  /**
   * Los separadores de fecha («Hoy», «Ayer», «lunes 30 de noviembre»): uno sobre el primer mensaje de cada día
   * (también sobre el primero de la conversación). Se recalculan tras cada cambio, pero solo se tocan los que
   * faltan o sobran (el cuadro es un role=log: no se vuelven a anunciar los que ya estaban). El día es el local
   * del navegador, el mismo que la hora de cada burbuja.
   */
  refreshDays() {
    const keep = new Set();
    let last = null;
    for (const el of Array.from(this.box.children)) {
      if (!el.classList.contains('message')) continue;
      const ts = el.querySelector('.message-meta time')?.getAttribute('datetime');
      const key = dayKey(ts);
      if (!key || key === last) continue;
      last = key;
      const label = dayLabel(ts);
      let sep = el.previousElementSibling;
      if (!sep || !sep.classList.contains('day-separator') || sep.dataset.day !== key || keep.has(sep)) {
        sep = h('div', { class: 'day-separator', role: 'separator', dataset: { day: key } },
          h('span', { class: 'day-separator-text' }));
        el.before(sep);
      }
      if (sep.getAttribute('aria-label') !== label) {
        sep.setAttribute('aria-label', label);
        sep.firstChild.textContent = label;
      }
      keep.add(sep);
    }
    for (const sep of Array.from(this.box.querySelectorAll(':scope > .day-separator'))) if (!keep.has(sep)) sep.remove();
  }

  /* ----- DOM ----- */

  bubble(m) {
    const el = h('div', { class: 'message role-' + m.role, dataset: { role: m.role } });
    const meta = h('div', { class: 'message-meta' }, timeEl(m.timestamp));
    if (m.role === 'system') {
      el.appendChild(h('div', { class: 'message-bubble' }, h('span', { class: 'message-text', text: m.content }), meta));
      return el;
    }
    el.append(
      h('div', { class: 'message-head' },
        h('span', { class: 'message-icon' }, icon(ROLE_ICON[m.role])),
        h('span', { class: 'message-author', text: this.view.author(m) })),
      h('div', { class: 'message-bubble' },
        m.responde_a ? this.quoteEl(m.responde_a) : null,
        m.adjunto_url && this.view.attachment ? this.view.attachment(m) : null,
        h('div', { class: 'message-text', text: m.content }),
        meta));
    if (this.isOutgoing(m)) this.renderStatus(m, el);
    return el;
  }

  /** La cita sobre el texto: quién y el comienzo de lo citado (dos líneas como mucho). Pulsarla lleva al mensaje
   * citado si está cargado. */
  quoteEl(q) {
    const author = this.quoteAuthor(q.role);
    const text = q.contenido.trim() || '(sin texto)';
    return h('button', {
      type: 'button', class: 'message-quote', dataset: { quotedId: q.id, quotedRole: q.role },
      title: 'Ir al mensaje citado', onclick: () => this.reveal(q),
    },
    h('span', { class: 'sr-only', text: 'Responde a ' }),
    h('span', { class: 'quote-author', text: author }),
    h('span', { class: 'sr-only', text: ': ' }),
    h('span', { class: 'quote-text', text }));
  }

  /** Lleva a la vista el mensaje citado y lo resalta un momento; si no está cargado, lo dice la página. */
  reveal(q) {
    const el = this.els.get(q.id);
    if (!el) { this.view.onQuoteMissing?.(q); return; }
    const still = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    el.scrollIntoView({ block: 'center', behavior: still ? 'auto' : 'smooth' });
    this.unhighlight();
    void el.offsetWidth; // vuelve a empezar la animación si ya estaba resaltado
    el.classList.add('is-highlighted');
    this.highlighted = { el, timer: setTimeout(() => this.unhighlight(), HIGHLIGHT_MS) };
    // El foco va al mensaje (sin volver a desplazar): el lector de pantalla lo lee y Tab sigue desde ahí.
    el.tabIndex = -1;
    el.focus({ preventScroll: true });
  }

  unhighlight() {
    if (!this.highlighted) return;
    clearTimeout(this.highlighted.timer);
    this.highlighted.el.classList.remove('is-highlighted');
    this.highlighted = null;
  }

  /** «Responder» en la cabecera de un mensaje ya guardado (no en las notas del sistema), si la página lo ofrece. */
  addReplyButton(m, el) {
    // Una nota privada no se cita: la cita llevaría su texto al cliente.
    if (!this.view.onReply || m.role === 'system' || m.role === 'note' || m.id === null) return;
    const head = el.querySelector('.message-head');
    if (!head || head.querySelector('.btn-reply')) return;
    head.appendChild(h('button', {
      type: 'button', class: 'btn-reply',
      'aria-label': 'Responder a ' + this.quoteAuthor(m.role) + ': «' + truncate(m.content, 60) + '»',
      title: 'Responder citando este mensaje',
      onclick: () => this.view.onReply(this.msgs.get(m.id) || m),
    }, withIcon('reply', 'Responder')));
  }

  /** Dibuja (o actualiza) el estado de entrega dentro de la burbuja. */
  renderStatus(m, el = this.elOf(m)) {
    const meta = el.querySelector('.message-meta');
    meta.querySelectorAll('.status, .status-reason, .btn-retry').forEach((n) => n.remove());
    const key = this.view.status(m);
    const info = STATUS[key];
    let label = info.label;
    let text = null;
    if (key === 'retrying') {
      const attempt = m.intento ? ' (intento ' + m.intento + ')' : '';
      label += attempt;
      text = 'reintentando' + attempt;
    }
    if (key === 'waiting_bridge') text = 'esperando WhatsApp';
    const reason = key === 'failed' ? (m.error_entrega || 'WhatsApp rechazó el mensaje')
      : key === 'error' ? (m.localError || 'No se pudo enviar') : null;
    const title = reason ? label + ': ' + reason : label;
    meta.appendChild(h('span', { class: 'status', dataset: { status: key }, title, 'aria-label': title },
      icon(info.icon), text ? ' ' + text : null));
    el.classList.toggle('is-pending', key === 'sending');
    el.classList.toggle('is-error', key === 'failed' || key === 'error');
    if (reason) meta.appendChild(h('span', { class: 'status-reason', text: reason }));
    const canRetry = this.view.onRetry && !m.retried && (key === 'failed' || (key === 'error' && m.retryable));
    if (canRetry) {
      meta.appendChild(h('button', {
        type: 'button', class: 'btn-retry', 'aria-label': 'Reintentar el envío del mensaje',
        onclick: () => this.view.onRetry(m),
      }, withIcon('refresh', 'Reintentar')));
    }
  }
}

/* ------------------------------------------------------------------ tramas del WebSocket */

/** Tramas de personas que entran, salen o se pasan el chat (la nota del sistema llega como mensaje). */
export const PEOPLE = new Set(['agente_joined', 'agente_left', 'chat_transferred']);

/**
 * Las tramas que toda conversación trata igual (guía 003): mensajes (`connection_established`,
 * `mensaje_recibido`, `file_uploaded` con el mensaje del archivo, que suele haber llegado ya como
 * `mensaje_recibido`: merge no lo repite) y «escribiendo…» del otro lado (`usuario.tipo` CLIENTE o AGENTE:
 * `otherSide`).
 * Devuelve los mensajes nuevos, o null si la trama es de otro tipo (la página decide).
 */
export function applyFrame(conv, typing, otherSide, tipo, d) {
  switch (tipo) {
    case 'connection_established': return conv.merge(d.historial_reciente.map(fromFrame));
    case 'mensaje_recibido': return conv.merge([fromFrame(d)]);
    case 'file_uploaded': return d.mensaje ? conv.merge([fromFrame(d.mensaje)]) : [];
    case 'usuario_escribiendo': if (d.usuario.tipo === otherSide) typing.show(); return [];
    case 'usuario_dejo_escribir': if (d.usuario.tipo === otherSide) typing.hide(); return [];
    default: return null;
  }
}

/* ------------------------------------------------------------------ el compositor */

/** El cuadro de texto crece con lo escrito (hasta 160 px). */
export function autoGrow(ta) {
  ta.style.height = 'auto';
  ta.style.height = Math.min(ta.scrollHeight + 2, 160) + 'px';
}

/** Enter envía, Shift+Enter es un salto de línea. on.send(texto); on.input(valor) en cada cambio. */
export function bindComposer(form, input, on) {
  const submit = () => {
    if (input.disabled) return;
    const text = input.value;
    if (!text.trim()) return;
    input.value = '';
    autoGrow(input);
    on.send(text);
    input.focus();
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); submit(); });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
      ev.preventDefault();
      submit();
    }
  });
  input.addEventListener('input', () => { autoGrow(input); on.input?.(input.value); });
}
