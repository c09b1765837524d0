/* Mostrador (panel) — los plazos del chat abierto, en su cabecera (GET /api/tickets/{id}/sla: la política que se le
 * aplica y, por meta, cuándo vence, si se cumplió y los segundos que faltan, negativos una vez vencida). Una línea por
 * meta de la política: «Primera respuesta: faltan 25 min», «vencida hace 10 min» (rojo), «cumplida» (verde) o
 * «cumplida con retraso» (rojo); lo mismo para «Resolución». Sin política (`policy` null) no se muestra nada. Se
 * vuelve a leer al abrir el chat, cuando cambia el estado del ticket (un técnico respondió, se resolvió) y cada minuto.
 * Los plazos cuentan tiempo corrido (no el horario de atención). Las políticas: panel/sla-admin.js. */
import { api } from '../lib/api.js';
import { $, h } from '../lib/dom.js';
import { formatDuration, formatFull } from '../lib/format.js';
import { icon } from '../lib/icons.js';

const REFRESH_MS = 60000;
/** Lo que queda por debajo de esto se muestra en ámbar: vence pronto. */
const SOON_SECONDS = 15 * 60;

/** El chat cuyos plazos se muestran, el temporizador del minuto y la lectura en curso. */
let shown = null;
let timer = null;
let request = 0;

const TARGETS = [['first_response', 'Primera respuesta'], ['resolution', 'Resolución']];

/** «faltan 25 min» / «falta 1 h»: el tiempo como lo dice formatDuration. */
function left(seconds) {
  const text = formatDuration(seconds);
  return (/^1 \S+$/.test(text) ? 'falta ' : 'faltan ') + text;
}

/** Una meta: {state, text, title}. state: pending | soon | late | met | met-late. */
export function describeTarget(target) {
  const due = formatFull(target.due_at);
  if (target.met_at) {
    return target.breached
      ? { state: 'met-late', text: 'cumplida con retraso', title: 'Cumplida: ' + formatFull(target.met_at) + ' · vencía: ' + due }
      : { state: 'met', text: 'cumplida', title: 'Cumplida: ' + formatFull(target.met_at) + ' · vencía: ' + due };
  }
  const seconds = Number(target.remaining_seconds);
  if (target.breached || seconds < 0) {
    return { state: 'late', text: 'vencida hace ' + formatDuration(Math.max(0, -seconds)), title: 'Venció: ' + due };
  }
  return { state: seconds <= SOON_SECONDS ? 'soon' : 'pending', text: left(seconds), title: 'Vence: ' + due };
}

function clear() {
  const line = $('#chat-sla');
  line.replaceChildren();
  line.hidden = true;
  delete line.dataset.policy;
}

function render(data) {
  const line = $('#chat-sla');
  if (!data || !data.policy) { clear(); return; }
  const parts = TARGETS.filter(([key]) => data[key]).map(([key, name]) => {
    const d = describeTarget(data[key]);
    return h('span', { class: 'sla-target', dataset: { kind: key, state: d.state }, title: d.title },
      h('span', { class: 'sla-target-name', text: name + ':' }), ' ' + d.text);
  });
  if (!parts.length) { clear(); return; }
  line.replaceChildren(
    h('span', { class: 'sla-policy', title: 'Política de SLA «' + data.policy.name + '» (tiempo corrido desde que se abrió el ticket)' },
      icon('timer'), h('span', { class: 'sr-only', text: 'Plazos (SLA «' + data.policy.name + '»): ' })),
    ...parts);
  line.dataset.policy = data.policy.name;
  line.hidden = false;
}

/** Vuelve a leer los plazos del chat `c` (si sigue siendo el que se muestra). */
export async function refreshSla(c) {
  if (!c || shown !== c) return;
  const my = ++request;
  const res = await api('/api/tickets/' + encodeURIComponent(c.id) + '/sla');
  if (my !== request || shown !== c) return;
  // Sin acceso, o un error: la línea se quita (no se muestra un plazo que no se sabe); un corte de red la deja.
  if (res.networkError || res.status >= 500) return;
  render(res.ok ? res.data : null);
}

/** El chat `c` se abrió: sus plazos ahora y cada minuto (con la pestaña a la vista). */
export function showSla(c) {
  shown = c;
  clear();
  clearInterval(timer);
  timer = setInterval(() => { if (!document.hidden) refreshSla(shown); }, REFRESH_MS);
  refreshSla(c);
}

/** El chat se cerró (o la sesión): nada queda a la vista ni pendiente. */
export function hideSla() {
  shown = null;
  request++;
  clearInterval(timer);
  timer = null;
  clear();
}
