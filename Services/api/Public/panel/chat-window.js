/* Mostrador (panel) — la ventana de 24 h de WhatsApp en el chat de un ticket. Con la Cloud API de Meta un negocio
 * puede escribir libremente durante 24 h tras el último mensaje del cliente; después WhatsApp solo entrega
 * plantillas aprobadas por Meta (error 131047). GET /ticket/{id}/conversacion trae `ventana_whatsapp`
 * ({aplica, cierra, abierta}) en los tickets de WhatsApp; WAHA, Evolution y el puente de la semilla no tienen
 * ventana (aplica: false); los chats web no la traen.
 *
 * Aquí: la línea bajo la cabecera («Ventana de WhatsApp abierta hasta las HH:MM (dd/mm)», «cierra en N min» en la
 * última hora, «cerrada» o «Este canal no tiene ventana de 24 h»), que se actualiza sola con el paso del tiempo, y
 * el modo plantilla del compositor: con la ventana cerrada (o justo después de que WhatsApp rechazara un envío por
 * estar fuera de ella) el texto libre se deshabilita y se ofrece elegir una plantilla aprobada, llenar sus {{n}},
 * ver el texto final y «Enviar plantilla». El envío lo hace el chat (panel/chat-panel.js) como cualquier otro. */
import { $, h, nearBottom, showText } from '../lib/dom.js';
import { formatFull } from '../lib/format.js';
import { setLabel } from '../lib/icons.js';
import {
  approved, loadTemplates, onTemplatesChanged, parameterProblem, renderTemplate, templateLabel,
} from './templates.js';

const WINDOW_MS = 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;
/** Lo que dice el motivo de un mensaje que WhatsApp rechazó por estar fuera de la ventana (el relay: «fuera de la
 * ventana de 24 h: solo se puede enviar una plantilla aprobada (…)»). */
const REFUSAL = /fuera de la ventana de 24 ?h/i;

export const CLOSED_TEXT = 'Ventana de 24 h cerrada: solo se pueden enviar plantillas aprobadas';
export const NO_WINDOW_TEXT = 'Este canal no tiene ventana de 24 h';
/** El texto del compositor mientras solo se pueden enviar plantillas. */
export const BLOCKED_PLACEHOLDER = 'Texto libre deshabilitado: ventana de 24 h cerrada';

/** Lo que presta el chat (setupChatWindow): current() → el chat abierto o null; refresh(c) → volver a calcular el
 * compositor (llama a applyWindow); send(c, plantilla, valores) → Promise<{keep, reload}> (keep: no se guardó, los datos se quedan en el formulario;
 * reload: volver a leer las plantillas); isAdmin();
 * manage(opener) → abre «Plantillas de WhatsApp». */
let hooks = null;
/** El temporizador que actualiza la línea (y cierra la ventana a su hora). */
let timer = null;
/** El modo plantilla a la vista: {c, selected (id), values: Map(id → [valores]), sending}; null fuera de él. */
let mode = null;
/** Tras cargar la lista, el foco va al primer control útil (si el modo plantilla acaba de tomar el del compositor). */
let focusLater = false;

/* ----- el estado de la ventana ----- */

/** ¿Es este el motivo de un rechazo por estar fuera de la ventana de 24 h? */
export function isWindowRefusal(reason) { return REFUSAL.test(String(reason || '')); }

function ms(v) {
  const t = v ? Date.parse(v) : NaN;
  return Number.isFinite(t) ? t : null;
}

/**
 * Lo que dice GET /ticket/{id}/conversacion (`ventana_whatsapp`, ausente en un chat web) y los rechazos por la
 * ventana que hay en su historial (el más reciente cuenta: ver windowState).
 */
export function noteWindow(c, ventana, historial) {
  c.window = ventana && typeof ventana === 'object'
    ? { aplica: !!ventana.aplica, cierra: ms(ventana.cierra), abierta: !!ventana.abierta } : null;
  noteRefusals(c, historial || []);
}

/** Mensajes del técnico que WhatsApp rechazó por la ventana: se recuerda cuándo fue el último. */
export function noteRefusals(c, msgs) {
  for (const m of msgs) {
    if (m.role === 'tecnico' && m.estado_entrega === 'failed' && isWindowRefusal(m.error_entrega)) {
      windowRefused(c, m.timestamp);
    }
  }
}

/**
 * WhatsApp rechazó un mensaje enviado en `when` (ISO o ms) por estar fuera de la ventana. justNow: el rechazo es la
 * respuesta al envío que se acaba de hacer (la hora de su burbuja es la de este navegador, que puede ir atrasado
 * respecto del servidor): cuenta como posterior al último mensaje del cliente que se conoce.
 */
export function windowRefused(c, when, justNow = false) {
  let t = typeof when === 'number' ? when : ms(when) ?? Date.now();
  if (justNow && c.window && c.window.cierra) t = Math.max(t, c.window.cierra - WINDOW_MS);
  if (!c.refusedAt || t > c.refusedAt) c.refusedAt = t;
}

/** Mensajes nuevos del cliente: la ventana vuelve a abrirse 24 h desde el último (el servidor lo confirma en la
 * próxima consulta). */
export function noteCustomerMessages(c, msgs) {
  if (!c.window || !c.window.aplica) return false;
  let changed = false;
  for (const m of msgs) {
    if (m.role !== 'user') continue;
    const t = ms(m.timestamp);
    if (t === null) continue;
    const closes = t + WINDOW_MS;
    if (!c.window.cierra || closes > c.window.cierra) {
      c.window.cierra = closes;
      c.window.abierta = closes > Date.now();
      changed = true;
    }
  }
  return changed;
}

/**
 * null (chat web, o aún sin saber), 'none' (el canal no tiene ventana), 'open' o 'closed'. Cerrada: el servidor lo
 * dice, ya pasó su hora, o WhatsApp rechazó un mensaje por la ventana después del último mensaje del cliente.
 */
export function windowState(c, now = Date.now()) {
  const w = c && c.window;
  if (!w) return null;
  if (!w.aplica) return 'none';
  if (!w.abierta || !w.cierra || w.cierra <= now) return 'closed';
  const lastCustomer = w.cierra - WINDOW_MS;
  if (c.refusedAt && c.refusedAt >= lastCustomer) return 'closed';
  return 'open';
}

/* ----- la línea bajo la cabecera ----- */

const two = (n) => String(n).padStart(2, '0');

/** «abierta hasta las 14:05 (03/12)», más «cierra en N min» en la última hora. */
function openText(closes, now) {
  const d = new Date(closes);
  let text = 'Ventana de WhatsApp abierta hasta las ' + two(d.getHours()) + ':' + two(d.getMinutes())
    + ' (' + two(d.getDate()) + '/' + two(d.getMonth() + 1) + ')';
  const left = closes - now;
  if (left <= HOUR_MS) text += ' · cierra en ' + Math.max(1, Math.ceil(left / 60000)) + ' min';
  return text;
}

/**
 * Lo que dice la línea de la ventana de `c` a la hora `now`: {state: 'open' | 'closing' (última hora) | 'closed' |
 * 'none', text, icon, title}, o null sin ventana (chat web).
 */
export function describeWindow(c, now = Date.now()) {
  const state = windowState(c, now);
  if (!state) return null;
  if (state === 'none') {
    return { state, text: NO_WINDOW_TEXT, icon: 'info', title: 'Por este canal se puede escribir al cliente en cualquier momento' };
  }
  if (state === 'closed') {
    return {
      state, text: CLOSED_TEXT, icon: 'lock',
      title: 'WhatsApp solo entrega plantillas aprobadas por Meta hasta que el cliente vuelva a escribir',
    };
  }
  const closes = c.window.cierra;
  return {
    state: closes - now <= HOUR_MS ? 'closing' : 'open', text: openText(closes, now), icon: 'clock',
    title: 'Cierra el ' + formatFull(new Date(closes).toISOString()) + ' (24 h después del último mensaje del cliente)',
  };
}

function renderLine(c, now) {
  const line = $('#chat-window');
  const d = describeWindow(c, now);
  if (!d) {
    line.hidden = true;
    line.dataset.state = '';
    return;
  }
  line.dataset.state = d.state;
  line.title = d.title;
  const text = $('#chat-window-text');
  if (text.textContent.trim() !== d.text) setLabel(text, d.icon, d.text);
  line.hidden = false;
}

/** La próxima vez que la línea cambia: el minuto siguiente en la última hora, si no cada 30 s; y a la hora exacta
 * del cierre. */
function schedule(c, state, now) {
  clearTimeout(timer);
  timer = null;
  if (state !== 'open') return;
  const left = c.window.cierra - now;
  const next = Math.max(200, Math.min(30000, left <= HOUR_MS ? (left % 60000) + 50 : 30000, left + 50));
  timer = setTimeout(() => { timer = null; if (hooks.current() === c) hooks.refresh(c); }, next);
}

/**
 * Dibuja la ventana del chat `c` y pone o quita el modo plantilla. ticketClosed: el ticket está cerrado (no se envía
 * nada, ni plantillas). Devuelve true si el texto libre no debe enviarse (modo plantilla).
 */
export function applyWindow(c, ticketClosed) {
  const now = Date.now();
  const state = windowState(c, now);
  renderLine(c, now);
  schedule(c, state, now);
  const blocked = state === 'closed' && !ticketClosed;
  setTemplateMode(c, blocked);
  return blocked;
}

/* ----- el modo plantilla ----- */

function setTemplateMode(c, on) {
  const form = $('#chat-template-form');
  $('#chat-messages').classList.toggle('is-template-only', on);
  if (!on) {
    if (!mode) return;
    // El cliente escribió (o el ticket se cerró): sin formulario; si el foco estaba en él, pasa al compositor en
    // cuanto el chat lo habilite.
    const inside = form.contains(document.activeElement);
    mode = null;
    focusLater = false;
    form.hidden = true;
    if (inside) setTimeout(() => { const input = $('#chat-input'); if (!input.disabled) input.focus(); }, 0);
    return;
  }
  if (mode && mode.c === c) return;
  const entering = form.hidden;
  mode = { c, selected: null, values: new Map(), sending: false };
  showText($('#chat-template-error'), null);
  $('#chat-template-manage').hidden = !hooks.isAdmin();
  keepBottom(() => { form.hidden = false; fill(c, null); });
  reload(c);
  // El foco estaba en el compositor (se acaba de enviar un texto que WhatsApp rechazó) o en ninguna parte: pasa a
  // la plantilla, que es lo que ahora se puede usar.
  const active = document.activeElement;
  focusLater = entering
    && (!active || active === document.body || active === $('#chat-input') || active === $('#chat-send'));
}

async function reload(c, maxAge = 15000) {
  const status = $('#chat-template-status');
  if (!mode || mode.c !== c) return;
  status.textContent = 'Cargando plantillas…';
  const res = await loadTemplates({ maxAge });
  if (!mode || mode.c !== c) return;
  keepBottom(() => {
    status.textContent = res.ok ? '' : 'No se pudieron cargar las plantillas: ' + res.error;
    fill(c, res.ok ? res.list : null, !res.ok);
  });
}

/** El formulario le quita altura a la conversación al aparecer o crecer: si se estaba leyendo el final, el último
 * mensaje (el rechazado, con su motivo) sigue a la vista. */
function keepBottom(change) {
  const log = $('#chat-messages');
  const stick = nearBottom(log);
  change();
  if (stick) log.scrollTop = log.scrollHeight;
}

/** Llena la lista de plantillas aprobadas. list: null = aún cargando. */
function fill(c, list, failed = false) {
  if (!mode || mode.c !== c) return;
  const pick = $('#chat-template-pick');
  const empty = $('#chat-template-empty');
  const select = $('#chat-template-select');
  const ok = list ? approved(list) : [];
  const none = list !== null && !failed && ok.length === 0;
  empty.hidden = !none;
  pick.hidden = !ok.length;
  $('#chat-template-send').disabled = !ok.length || mode.sending;
  if (!ok.length) {
    select.replaceChildren();
    mode.selected = null;
    mode.template = null;
    $('#chat-template-params').replaceChildren();
    $('#chat-template-preview').textContent = '';
    if (none && focusLater) { focusLater = false; (hooks.isAdmin() ? $('#chat-template-manage') : $('#chat-template-refresh')).focus(); }
    return;
  }
  const keep = ok.find((t) => t.id === mode.selected) || ok[0];
  select.replaceChildren(...ok.map((t) => h('option', { value: String(t.id), text: templateLabel(t) })));
  select.value = String(keep.id);
  choose(keep);
  if (focusLater) { focusLater = false; select.focus(); }
}

/** Elige la plantilla `t`: un campo por parámetro ({{1}}, {{2}}…) y la vista previa. */
function choose(t) {
  const same = mode.template && mode.template.id === t.id && mode.template.cuerpo === t.cuerpo;
  mode.selected = t.id;
  mode.template = t;
  if (same) { preview(); return; }
  const values = mode.values.get(t.id) || [];
  const n = Math.max(0, Number(t.parametros) || 0);
  const box = $('#chat-template-params');
  const fields = [];
  for (let i = 1; i <= n; i++) {
    const input = h('input', {
      id: 'chat-template-p' + i, class: 'input', type: 'text', maxlength: 1024, autocomplete: 'off',
      spellcheck: 'true', required: true, dataset: { param: i },
      'aria-describedby': 'chat-template-preview-label',
    });
    input.value = values[i - 1] || '';
    input.addEventListener('input', () => {
      if (input.getAttribute('aria-invalid')) {
        input.removeAttribute('aria-invalid');
        showText($('#chat-template-error'), null);
      }
      if (!mode) return;
      const list = mode.values.get(t.id) || [];
      list[i - 1] = input.value;
      mode.values.set(t.id, list);
      preview();
    });
    fields.push(h('div', { class: 'template-param' },
      h('label', { for: 'chat-template-p' + i, text: '{{' + i + '}}' }), input));
  }
  box.replaceChildren(...fields);
  box.hidden = !n;
  // Los campos {{n}} dicen qué llenar; sin ninguno, se dice que va tal cual.
  const hint = $('#chat-template-hint');
  hint.textContent = n ? '' : 'Esta plantilla no lleva datos: se envía tal cual.';
  hint.hidden = !!n;
  preview();
}

function currentValues() {
  return Array.from($('#chat-template-params').querySelectorAll('input')).map((i) => i.value);
}

function preview() {
  if (!mode || !mode.template) return;
  const values = currentValues().map((v) => v.trim());
  $('#chat-template-preview').textContent = renderTemplate(mode.template.cuerpo, values);
}

async function submit() {
  const c = hooks.current();
  if (!c || !mode || mode.c !== c || mode.sending) return;
  const t = mode.template;
  if (!t) return;
  const inputs = Array.from($('#chat-template-params').querySelectorAll('input'));
  for (const [i, input] of inputs.entries()) {
    const problem = parameterProblem(input.value, i + 1);
    if (problem) {
      input.setAttribute('aria-invalid', 'true');
      showText($('#chat-template-error'), problem);
      input.focus();
      return;
    }
  }
  showText($('#chat-template-error'), null);
  const values = inputs.map((i) => i.value.trim());
  const btn = $('#chat-template-send');
  mode.sending = true;
  btn.disabled = true;
  $('#chat-template-form').setAttribute('aria-busy', 'true');
  setLabel(btn, 'clock', 'Enviando…');
  const result = await hooks.send(c, t, values);
  const still = mode && mode.c === c;
  if (still) mode.sending = false;
  $('#chat-template-form').setAttribute('aria-busy', 'false');
  setLabel(btn, 'send', 'Enviar plantilla');
  btn.disabled = !still || !mode.template;
  if (!still) return;
  if (result.reload) reload(c, 0);
  if (result.keep) return; // no se guardó: los datos siguen ahí para corregirlos
  mode.values.delete(t.id);
  for (const input of inputs) input.value = '';
  preview();
  (inputs[0] || $('#chat-template-select')).focus();
}

/** Al cerrar el chat. */
export function resetChatWindow() {
  clearTimeout(timer);
  timer = null;
  mode = null;
  focusLater = false;
  $('#chat-template-form').hidden = true;
  $('#chat-template-params').replaceChildren();
  $('#chat-template-select').replaceChildren();
  $('#chat-template-preview').textContent = '';
  showText($('#chat-template-error'), null);
  $('#chat-messages').classList.remove('is-template-only');
  const line = $('#chat-window');
  line.hidden = true;
  line.dataset.state = '';
  $('#chat-window-text').replaceChildren();
}

/** hooks: {current(), refresh(c), send(c, plantilla, valores), isAdmin(), manage(opener)} (ver arriba). */
export function setupChatWindow(chatHooks) {
  hooks = chatHooks;
  const form = $('#chat-template-form');
  form.addEventListener('submit', (ev) => { ev.preventDefault(); submit(); });
  $('#chat-template-select').addEventListener('change', (ev) => {
    if (!mode) return;
    showText($('#chat-template-error'), null);
    loadTemplates({ maxAge: Infinity }).then((res) => {
      const t = approved(res.list).find((x) => String(x.id) === ev.target.value);
      if (t && mode) choose(t);
    });
  });
  $('#chat-template-refresh').addEventListener('click', () => { if (mode) reload(mode.c, 0); });
  $('#chat-template-manage').addEventListener('click', (ev) => hooks.manage(ev.currentTarget));
  // Un administrador registró o aprobó una plantilla (en este panel): la lista del chat se pone al día.
  onTemplatesChanged(() => { if (mode) reload(mode.c, Infinity); });
}
