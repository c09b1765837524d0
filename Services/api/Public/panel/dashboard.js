/* Mostrador (panel) — pestaña Indicadores: GET /api/dashboard/?days=14, refresco cada minuto. */
import { api, errorText } from '../lib/api.js';
import { $, h } from '../lib/dom.js';
import { formatDay, formatDuration } from '../lib/format.js';
import { icon } from '../lib/icons.js';
import { chartJsBar, chartJsDoughnut, chartLibrary, destroyCharts, hBars, svgBarChart } from './charts.js';
import { ESTADO_ORDER, estadoBadge, estadoLabel } from './estados.js';
import { loadSatisfaction } from './satisfaction.js';

const DAYS = 14;
let timer = null;
let showing = false;
/** showState(estado, opener): ver en la lista los tickets de un estado (main.js). */
let actions = { showState: null };

export function setupDashboard(a) { actions = { ...actions, ...a }; }

/** Cuántos tickets hay ahora en cada estado: la cabecera X-Total-Count de GET /tickets?estado=…&page_size=1.
 * [{estado, count}] en el orden de ESTADO_ORDER, o null si alguna consulta falló. */
async function stateCounts() {
  const answers = await Promise.all(ESTADO_ORDER.map((e) => api('/tickets?estado=' + e + '&page_size=1')));
  if (!answers.every((r) => r.ok)) return null;
  return ESTADO_ORDER.map((estado, i) => ({ estado, count: Number(answers[i].headers.get('X-Total-Count')) || 0 }));
}

/** «Tickets por estado · ahora»: la insignia de cada estado (la misma que en la lista y el chat) y cuántos hay;
 * cada una lleva a la lista filtrada por ese estado. */
function statesCard(counts) {
  const body = counts
    ? h('ul', { class: 'state-counts' }, counts.map(({ estado, count }) => h('li', null,
      h('button', {
        type: 'button', class: 'state-count', dataset: { estado },
        'aria-label': estadoLabel(estado) + ': ' + count + ' ticket' + (count === 1 ? '' : 's') + '. Ver en la lista',
        onclick: (ev) => actions.showState?.(estado, ev.currentTarget),
      }, estadoBadge(estado), h('span', { class: 'state-count-value', text: String(count) })))))
    : h('p', { class: 'muted small', text: 'No se pudieron contar los tickets por estado.' });
  return h('section', { class: 'card states-card', 'aria-labelledby': 'ch-states' },
    h('h2', { id: 'ch-states', text: 'Tickets por estado · ahora' }), body);
}

/** «SLA incumplidos: primera respuesta N · resolución M»: los plazos vencidos en el periodo (por fecha de vencimiento). */
function slaLine(breaches) {
  const first = Number(breaches.first_response) || 0, resolution = Number(breaches.resolution) || 0;
  return h('p', {
    class: 'card sla-breaches', id: 'dashboard-sla', dataset: { total: first + resolution },
    title: 'Plazos de las políticas de SLA que vencieron sin cumplirse en los últimos ' + DAYS + ' días',
  }, icon('timer'), h('strong', { text: 'SLA incumplidos:' }),
  ' primera respuesta ', h('span', { class: 'sla-breaches-count', dataset: { kind: 'first_response' }, text: String(first) }),
  ' · resolución ', h('span', { class: 'sla-breaches-count', dataset: { kind: 'resolution' }, text: String(resolution) }));
}

export function showDashboard() {
  showing = true;
  loadDashboard();
  clearInterval(timer);
  timer = setInterval(() => { if (!document.hidden) loadDashboard(true); }, 60000);
}

export function hideDashboard() {
  showing = false;
  clearInterval(timer);
  timer = null;
}

/**
 * {tickets_per_day: [{date, count}], categories: {Hardware, Software, unknown},
 *  first_response: {average_seconds, median_seconds, business_average_seconds, business_median_seconds (null con el
 *  horario de atención desactivado), per_day: [{date, average_seconds}]}, sla_breaches: {first_response, resolution}};
 *  un día por fecha.
 */
export async function loadDashboard(silent) {
  loadSatisfaction(silent); // «Satisfacción» (administradores), en su propia tarjeta: panel/satisfaction.js
  const box = $('#dashboard-content');
  // El refresco de cada minuto redibuja todo: el foco vuelve al mismo estado si estaba en uno.
  const focused = box.contains(document.activeElement) ? document.activeElement.closest('.state-count')?.dataset.estado : null;
  if (!silent) box.replaceChildren(h('div', { class: 'card no-data', text: 'Cargando indicadores…' }));
  const [res, counts] = await Promise.all([api('/api/dashboard/?days=' + DAYS), stateCounts()]);
  if (!showing) return;
  destroyCharts();
  box.replaceChildren();
  if (!res.ok) {
    if (res.status === 401) return;
    box.appendChild(h('div', { class: 'card no-data' },
      h('div', null, h('div', { class: 'no-data-icon' }, icon('chart')),
        h('strong', { text: 'Sin datos' }),
        h('div', { class: 'small', text: errorText(res) }))));
    return;
  }
  const d = res.data;
  const perDay = d.tickets_per_day;
  const cats = d.categories;
  const fr = d.first_response;
  const total = perDay.reduce((sum, x) => sum + x.count, 0);

  // sub: una línea bajo la cifra (la misma medida en horario de atención, si el horario está activo).
  const kpi = (label, value, sub) => h('div', { class: 'card kpi' }, h('div', { class: 'kpi-label', text: label }),
    h('div', { class: 'kpi-value', text: value }), sub ? h('div', { class: 'kpi-sub', text: sub }) : null);
  const business = (seconds) => (seconds === null || seconds === undefined ? null
    : 'En horario de atención: ' + formatDuration(seconds));
  box.appendChild(h('div', { class: 'kpis' },
    kpi('Tickets (' + DAYS + ' días)', String(total)),
    kpi('Hardware', String(cats.Hardware)),
    kpi('Software', String(cats.Software)),
    kpi('Sin clasificar', String(cats.unknown)),
    kpi('1ª respuesta · promedio', formatDuration(fr.average_seconds), business(fr.business_average_seconds)),
    kpi('1ª respuesta · mediana', formatDuration(fr.median_seconds), business(fr.business_median_seconds))));
  if (d.sla_breaches) box.appendChild(slaLine(d.sla_breaches));
  box.appendChild(statesCard(counts));
  if (focused) box.querySelector('.state-count[data-estado="' + focused + '"]')?.focus();

  const c1 = h('div', { class: 'chart-box', id: 'chart-tickets' });
  const c2 = h('div', { class: 'chart-box', id: 'chart-categories' });
  const c3 = h('div', { class: 'chart-box', id: 'chart-first-response' });
  const card = (id, title, chart) => h('section', { class: 'card chart-card', 'aria-labelledby': id }, h('h2', { id, text: title }), chart);
  box.appendChild(h('div', { class: 'charts' },
    card('ch1', 'Tickets por día', c1),
    card('ch2', 'Hardware vs Software', c2),
    card('ch3', 'Tiempo de primera respuesta (promedio por día)', c3)));

  const labels = perDay.map((x) => formatDay(x.date));
  const catData = [
    { label: 'Hardware', value: cats.Hardware, color: '#ea580c' },
    { label: 'Software', value: cats.Software, color: '#7c3aed' },
    { label: 'Sin clasificar', value: cats.unknown, color: '#94a3b8' },
  ];
  // Segundos si todo fue rápido; si no, minutos (un decimal).
  const frValues = fr.per_day.map((x) => x.average_seconds);
  const inSeconds = Math.max(0, ...frValues.filter((v) => v !== null)) < 120;
  const frScaled = frValues.map((v) => (v === null ? null : inSeconds ? Math.round(v * 10) / 10 : Math.round(v / 6) / 10));
  const Chart = await chartLibrary();
  if (!showing) return;
  if (Chart) {
    chartJsBar(Chart, c1, labels, perDay.map((x) => x.count), '#2563eb', 'Tickets');
    chartJsDoughnut(Chart, c2, catData);
    chartJsBar(Chart, c3, labels, frScaled, '#059669', inSeconds ? 'Segundos' : 'Minutos');
  } else {
    svgBarChart(c1, labels, perDay.map((x) => x.count), { color: '#2563eb', integer: true, unit: (v) => v + ' ticket' + (v === 1 ? '' : 's') });
    hBars(c2, catData);
    svgBarChart(c3, labels, frScaled, {
      color: '#059669',
      unit: (v) => formatDuration(inSeconds ? v : v * 60),
      axis: (v) => v + (inSeconds ? ' s' : ' min'),
    });
  }
}
