/* Mostrador (panel) — gráficas: Chart.js si el servidor lo sirve (libjs-chart.js de Debian en /vendor; nunca
 * desde un CDN), y si no, SVG propio. */
import { h } from '../lib/dom.js';

const NS = 'http://www.w3.org/2000/svg';
let library = null;
/** Las gráficas de Chart.js vivas (se destruyen antes de dibujar otras). */
let live = [];

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = h('script', { src, async: true });
    s.addEventListener('load', () => resolve());
    s.addEventListener('error', () => { s.remove(); reject(new Error('no disponible')); });
    document.head.appendChild(s);
  });
}

/** Chart.js, o null si no está instalado. */
export function chartLibrary() {
  if (window.Chart) return Promise.resolve(window.Chart);
  library ||= loadScript('/vendor/chart.js/chart.umd.min.js')
    .catch(() => loadScript('/vendor/chart.js/chart.min.js'))
    .then(() => window.Chart || null, () => null);
  return library;
}

export function destroyCharts() {
  for (const c of live) c.destroy();
  live = [];
}

export function chartJsBar(Chart, box, labels, values, color, label) {
  const canvas = h('canvas', { role: 'img', 'aria-label': label + ' por día' });
  box.classList.add('chart-box-canvas');
  box.appendChild(canvas);
  live.push(new Chart(canvas.getContext('2d'), {
    type: 'bar',
    data: { labels, datasets: [{ label, data: values, backgroundColor: color, borderRadius: 4 }] },
    options: { responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
  }));
}

export function chartJsDoughnut(Chart, box, items) {
  const canvas = h('canvas', { role: 'img', 'aria-label': items.map((i) => i.label + ': ' + i.value).join(', ') });
  box.classList.add('chart-box-canvas');
  box.appendChild(canvas);
  live.push(new Chart(canvas.getContext('2d'), {
    type: 'doughnut',
    data: { labels: items.map((i) => i.label), datasets: [{ data: items.map((i) => i.value), backgroundColor: items.map((i) => i.color) }] },
    options: { responsive: true, maintainAspectRatio: false, plugins: { legend: { position: 'bottom' } } },
  }));
}

function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function noData(box) { box.appendChild(h('div', { class: 'no-data', text: 'Sin datos en este periodo' })); }

/** Barras verticales. opts: color, integer, unit(v) (texto de un valor), axis(v) (texto del eje). */
export function svgBarChart(box, labels, values, opts) {
  const nums = values.map((v) => (v === null ? 0 : v));
  if (!nums.some((v) => v > 0)) { noData(box); return; }
  const W = 560, H = 240, L = 44, R = 8, T = 12, B = 34;
  const top = Math.max(...nums);
  const max = opts.integer ? Math.max(4, Math.ceil(top / 4) * 4) : niceMax(top);
  const cw = (W - L - R) / labels.length;
  const describe = (i) => labels[i] + ': ' + (values[i] === null ? 'sin datos' : opts.unit(values[i]));
  const svg = s('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', preserveAspectRatio: 'xMidYMid meet' });
  svg.appendChild(s('title', {}, labels.map((_, i) => describe(i)).join('; ')));
  for (let i = 0; i <= 4; i++) {
    const v = Math.round((max / 4) * i * 10) / 10;
    const y = T + (H - T - B) * (1 - v / max);
    svg.appendChild(s('line', { class: 'grid', x1: L, x2: W - R, y1: y, y2: y }));
    svg.appendChild(s('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, opts.axis ? opts.axis(v) : String(v)));
  }
  const every = labels.length > 8 ? 2 : 1;
  labels.forEach((lab, i) => {
    const bh = (H - T - B) * (nums[i] / max);
    const rect = s('rect', { class: 'bar', x: L + i * cw + cw * 0.18, y: H - B - bh, width: cw * 0.64, height: Math.max(bh, nums[i] > 0 ? 1 : 0), rx: 3, fill: opts.color });
    rect.appendChild(s('title', {}, describe(i)));
    svg.appendChild(rect);
    if ((labels.length - 1 - i) % every === 0) svg.appendChild(s('text', { x: L + i * cw + cw / 2, y: H - B + 16, 'text-anchor': 'middle' }, lab));
  });
  box.appendChild(svg);
}

/** Barras horizontales con porcentaje (reparto por categoría). items: [{label, value, color}]. */
export function hBars(box, items) {
  const total = items.reduce((sum, i) => sum + i.value, 0);
  if (!total) { noData(box); return; }
  const wrap = h('div', { class: 'hbars', role: 'list' });
  for (const it of items) {
    const pct = Math.round((it.value / total) * 100);
    const track = s('svg', { class: 'hbar-track', viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': 'true' });
    track.appendChild(s('rect', { class: 'hbar-fill', x: 0, y: 0, width: pct, height: 10, fill: it.color }));
    wrap.appendChild(h('div', { class: 'hbar-row', role: 'listitem', 'aria-label': it.label + ': ' + it.value + ' (' + pct + '%)' },
      h('span', { text: it.label }),
      track,
      h('span', { class: 'hbar-value', text: it.value + ' · ' + pct + '%' })));
  }
  box.appendChild(wrap);
}
