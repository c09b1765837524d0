/* Mostrador (panel) — «Exportar (CSV)» en Indicadores, solo para administradores: los tickets creados en un periodo
 * (GET /api/exports/tickets.csv) o las cifras de cada día (GET /api/exports/dashboard.csv), para una hoja de cálculo.
 * Las dos piden la sesión (Authorization: Token …), así que no pueden ser un enlace: se piden con api() como Blob y
 * se guardan con el nombre que da Content-Disposition (el token nunca va en una URL). «Desde»/«Hasta» (por defecto,
 * los últimos 30 días) son días locales: a los tickets se envían como instantes (el comienzo de «Desde» y el del día
 * siguiente a «Hasta», lo que el técnico ve en su hora); a las cifras como días, porque sus filas son días UTC.
 * «Separador ;» pide `separator=semicolon` (Excel con coma decimal). El servidor dice qué falla con 400 (una fecha,
 * más de 1100 días): su `detail` se muestra tal cual. Cada exportación queda en el registro de auditoría. */
import { api, errorText } from '../lib/api.js';
import { $, h, showText } from '../lib/dom.js';
import { localDayStart, localDayValue } from '../lib/format.js';
import { setLabel } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import * as session from './session.js';

/** El periodo por defecto: los últimos 30 días, hoy incluido (como el servidor sin fechas). */
const DEFAULT_DAYS = 30;

const KINDS = {
  tickets: {
    path: '/api/exports/tickets.csv', button: '#export-tickets', label: 'Exportar tickets (CSV)',
    fallback: 'mostrador-tickets.csv', what: 'los tickets', instants: true,
  },
  dashboard: {
    path: '/api/exports/dashboard.csv', button: '#export-dashboard', label: 'Exportar cifras (CSV)',
    fallback: 'mostrador-panel.csv', what: 'las cifras', instants: false,
  },
};

/** La exportación en curso (una a la vez; al cerrar sesión se olvida). */
let running = null;

export function isAdmin() { return session.agent()?.role === 'admin'; }

function resetDates() {
  $('#export-since').value = localDayValue(-(DEFAULT_DAYS - 1));
  $('#export-until').value = localDayValue(0);
}

/** La barra de exportación de Indicadores: solo para administradores, con los últimos 30 días. */
export function showExportsEntry() {
  const admin = isAdmin();
  $('#dashboard-export').hidden = !admin;
  if (admin && !$('#export-since').value && !$('#export-until').value) resetDates();
}

/** La consulta de una exportación; null (con el aviso puesto) si las fechas no tienen sentido. */
function query(kind) {
  const since = $('#export-since').value;
  const until = $('#export-until').value;
  if (since && until && since > until) {
    showText($('#export-error'), '«Desde» no puede ser posterior a «Hasta».');
    return null;
  }
  const q = new URLSearchParams();
  if (since) q.set('since', kind.instants ? localDayStart(since, false) : since);
  // «Hasta» incluye ese día entero: hasta el comienzo del día siguiente (el servidor no incluye ese instante).
  if (until) q.set('until', kind.instants ? localDayStart(until, true) : until);
  if ($('#export-semicolon').checked) q.set('separator', 'semicolon');
  return q;
}

/** El nombre de archivo de Content-Disposition (filename*=UTF-8''… o filename="…"), sin carpetas; o `fallback`. */
function filenameOf(disposition, fallback) {
  const value = String(disposition || '');
  let name = '';
  const encoded = /filename\*\s*=\s*UTF-8''([^;\s]+)/i.exec(value);
  if (encoded) {
    try { name = decodeURIComponent(encoded[1]); } catch (e) { name = ''; }
  }
  if (!name) {
    const plain = /filename\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(value);
    if (plain) name = plain[1] ?? plain[2] ?? '';
  }
  name = name.replace(/[\\/]/g, '_').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return name || fallback;
}

/** Guarda el Blob como archivo: un enlace `download` a su blob: URL, que se libera cuando ya empezó la descarga. */
function save(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

async function run(name) {
  if (!isAdmin() || running) return;
  const kind = KINDS[name];
  const err = $('#export-error');
  showText(err, null);
  $('#export-status').textContent = '';
  const q = query(kind);
  if (!q) return;
  const me = {};
  running = me;
  const btn = $(kind.button);
  for (const k of Object.values(KINDS)) $(k.button).disabled = true;
  setLabel(btn, 'clock', 'Exportando…');
  $('#dashboard-export').setAttribute('aria-busy', 'true');
  const qs = q.toString();
  // Un periodo largo puede tardar: el archivo se arma en el servidor de 500 en 500 tickets.
  const res = await api(kind.path + (qs ? '?' + qs : ''), { blob: true, timeout: 120000 });
  if (running !== me) return;
  running = null;
  for (const k of Object.values(KINDS)) $(k.button).disabled = false;
  setLabel(btn, 'download', kind.label);
  $('#dashboard-export').removeAttribute('aria-busy');
  if (res.status === 401) return;
  if (!res.ok || !(res.data instanceof Blob)) {
    // 400: una fecha que no vale o un periodo demasiado largo (el `detail` del servidor); 403: ya no es administrador.
    showText(err, res.status === 400 ? errorText(res) : 'No se pudo exportar ' + kind.what + ': ' + errorText(res));
    return;
  }
  const filename = filenameOf(res.headers.get('Content-Disposition'), kind.fallback);
  save(res.data, filename);
  $('#export-status').textContent = 'Descargado: ' + filename;
  toast('Exportación lista: ' + filename, 'success');
}

export function setupExports() {
  $('#export-form').addEventListener('submit', (ev) => ev.preventDefault());
  $('#export-tickets').addEventListener('click', () => run('tickets'));
  $('#export-dashboard').addEventListener('click', () => run('dashboard'));
  for (const sel of ['#export-since', '#export-until']) {
    $(sel).addEventListener('change', () => showText($('#export-error'), null));
  }
}

/** Al cerrar sesión: ni fechas ni avisos de esta sesión quedan para la siguiente. */
export function forgetExports() {
  running = null;
  $('#dashboard-export').hidden = true;
  $('#dashboard-export').removeAttribute('aria-busy');
  for (const kind of Object.values(KINDS)) {
    $(kind.button).disabled = false;
    setLabel($(kind.button), 'download', kind.label);
  }
  $('#export-since').value = '';
  $('#export-until').value = '';
  $('#export-semicolon').checked = false;
  $('#export-status').textContent = '';
  showText($('#export-error'), null);
}
