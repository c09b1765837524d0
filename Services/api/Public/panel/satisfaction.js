/* Mostrador (panel) — «Satisfacción» en Indicadores, solo para administradores: la encuesta de satisfacción (CSAT)
 * de los últimos 30 días, de GET /api/csat (sin fechas: el servidor toma los 30 días hasta ahora). Muestra el
 * promedio («4,5 / 5»), cuántas encuestas se respondieron de las enviadas, el reparto de 1 a 5 en barras, cada agente
 * (usuario, respuestas, promedio) y los últimos comentarios (texto, calificación, ticket «#N»). Se carga con los
 * indicadores (panel/dashboard.js, también en su refresco de cada minuto). Los datos entran con textContent. */
import { api, errorText } from '../lib/api.js';
import { $, h } from '../lib/dom.js';
import { formatDateTime } from '../lib/format.js';
import { icon } from '../lib/icons.js';
import { hBars } from './charts.js';
import * as session from './session.js';

const DAYS = 30;
/** Una cifra con coma decimal y un decimal como mucho: 4 → «4», 4.5 → «4,5». */
const decimal = new Intl.NumberFormat('es', { maximumFractionDigits: 1 });
/** Colores de las barras de 1 a 5: de rojo a verde. */
const COLORS = ['#dc2626', '#f97316', '#eab308', '#84cc16', '#16a34a'];

/** La carga en curso: una respuesta vieja (o de otra sesión) no pisa la nueva. */
let loading = null;

function isAdmin() { return session.agent()?.role === 'admin'; }

function box() { return $('#dashboard-satisfaction'); }

const plural = (n, one, many) => n + ' ' + (n === 1 ? one : many);

function average(value) {
  return value === null || value === undefined ? '—' : decimal.format(value);
}

/** Una calificación en estrellas para la vista (SVG decorativos) con su texto accesible «4 de 5». */
function stars(rating) {
  const wrap = h('span', { class: 'csat-stars', role: 'img', 'aria-label': rating + ' de 5' });
  for (let i = 1; i <= 5; i++) {
    const s = icon('star');
    if (i <= rating) s.classList.add('is-on');
    wrap.appendChild(s);
  }
  return wrap;
}

function header() {
  return h('div', { class: 'csat-head' },
    h('h2', { id: 'csat-title' }, icon('star'), ' Satisfacción · últimos ' + DAYS + ' días'),
    h('p', { class: 'muted small', text: 'La encuesta que recibe el cliente al resolverse su ticket (del 1 al 5).' }));
}

function summary(d) {
  const rate = d.asked ? Math.round((d.responses / d.asked) * 100) : null;
  return h('div', { class: 'csat-summary' },
    h('div', { class: 'kpi csat-kpi' },
      h('div', { class: 'kpi-label', text: 'Promedio' }),
      h('div', { class: 'kpi-value csat-average', dataset: { average: d.average ?? '' } },
        h('span', { class: 'csat-average-value', text: average(d.average) }),
        h('span', { class: 'csat-average-of', text: ' / 5' }))),
    h('div', { class: 'kpi csat-kpi' },
      h('div', { class: 'kpi-label', text: 'Respuestas' }),
      h('div', { class: 'kpi-value csat-responses', dataset: { responses: d.responses, asked: d.asked },
        text: d.responses + ' / ' + d.asked }),
      h('div', { class: 'kpi-sub', text: 'de ' + plural(d.asked, 'encuesta enviada', 'encuestas enviadas')
        + (rate === null ? '' : ' (' + rate + ' %)') })));
}

function distribution(d) {
  const chart = h('div', { class: 'csat-distribution', id: 'csat-distribution' });
  const items = [5, 4, 3, 2, 1].map((n) => ({
    label: plural(n, 'estrella', 'estrellas'), value: Number(d.distribution?.[n - 1]) || 0, color: COLORS[n - 1],
  }));
  hBars(chart, items);
  return h('section', { class: 'csat-part', 'aria-labelledby': 'csat-dist-title' },
    h('h3', { id: 'csat-dist-title', text: 'Calificaciones' }), chart);
}

function agents(d) {
  const rows = d.per_agent || [];
  const body = rows.length
    ? h('div', { class: 'table-wrap' }, h('table', { class: 'tickets csat-agents' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', text: 'Agente' }), h('th', { scope: 'col', text: 'Respuestas' }),
        h('th', { scope: 'col', text: 'Promedio' }))),
      h('tbody', null, rows.map((a) => h('tr', { class: 'csat-agent', dataset: { agentId: a.agent_id } },
        h('td', { class: 'csat-agent-name', text: a.clave || 'Sin agente' }),
        h('td', { class: 'csat-agent-responses', text: String(a.responses) }),
        h('td', { class: 'csat-agent-average', text: average(a.average) + ' / 5' }))))))
    : h('p', { class: 'muted small', text: 'Nadie respondió la encuesta en el periodo.' });
  return h('section', { class: 'csat-part', 'aria-labelledby': 'csat-agents-title' },
    h('h3', { id: 'csat-agents-title', text: 'Por agente' }), body);
}

function comments(d) {
  const list = d.comments || [];
  const body = list.length
    ? h('ul', { class: 'csat-comments' }, list.map((c) => h('li', {
      class: 'csat-comment', dataset: { ticketId: c.ticket_id, rating: c.rating },
    },
    h('div', { class: 'csat-comment-head' },
      stars(c.rating),
      h('span', { class: 'csat-comment-rating', text: c.rating + '/5' }),
      h('span', { class: 'csat-comment-ticket', text: '#' + c.ticket_id }),
      c.agent ? h('span', { class: 'csat-comment-agent muted', text: c.agent }) : null,
      h('time', { class: 'csat-comment-at muted', datetime: c.at, text: formatDateTime(c.at) })),
    h('p', { class: 'csat-comment-text', text: c.comment }))))
    : h('p', { class: 'muted small', text: 'Sin comentarios en el periodo.' });
  return h('section', { class: 'csat-part csat-part-wide', 'aria-labelledby': 'csat-comments-title' },
    h('h3', { id: 'csat-comments-title', text: 'Últimos comentarios' }), body);
}

/** Carga y dibuja la tarjeta; para quien no es administrador, la oculta. silent: sin «Cargando…» (el refresco). */
export async function loadSatisfaction(silent) {
  const card = box();
  if (!card) return;
  if (!isAdmin()) { forgetSatisfaction(); return; }
  card.hidden = false;
  if (!silent || !card.childElementCount) {
    card.replaceChildren(header(), h('p', { class: 'muted small', text: 'Cargando la encuesta de satisfacción…' }));
  }
  const me = {};
  loading = me;
  const res = await api('/api/csat');
  if (loading !== me || !isAdmin()) return;
  loading = null;
  if (res.status === 401) return;
  if (!res.ok) {
    card.replaceChildren(header(), h('p', { class: 'banner banner-error csat-error',
      text: 'No se pudo cargar la encuesta de satisfacción: ' + errorText(res) }));
    return;
  }
  const d = res.data;
  card.dataset.responses = String(d.responses);
  card.replaceChildren(header(), summary(d),
    h('div', { class: 'csat-parts' }, distribution(d), agents(d), comments(d)));
}

/** Al cerrar sesión: nada de la tarjeta queda para la siguiente. */
export function forgetSatisfaction() {
  loading = null;
  const card = box();
  if (!card) return;
  card.hidden = true;
  card.replaceChildren();
  delete card.dataset.responses;
}
