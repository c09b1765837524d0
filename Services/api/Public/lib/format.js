/* Mostrador — fechas, duraciones, tamaños y otras utilidades sin estado. */

/** UUID v4. crypto.randomUUID solo existe en contextos seguros (https/localhost). */
export function uuid() {
  if (window.isSecureContext && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (n) => n.toString(16).padStart(2, '0')).join('');
  return [x.slice(0, 8), x.slice(8, 12), x.slice(12, 16), x.slice(16, 20), x.slice(20)].join('-');
}

export function debounce(fn, ms) {
  let t = null;
  const d = (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
  d.cancel = () => clearTimeout(t);
  return d;
}

export function truncate(s, n) {
  s = String(s ?? '').replace(/\s+/g, ' ').trim();
  return s.length > n ? s.slice(0, n - 1).trimEnd() + '…' : s;
}

const LOCALE = 'es-MX';
const fmtTime = new Intl.DateTimeFormat(LOCALE, { hour: '2-digit', minute: '2-digit' });
const fmtDayTime = new Intl.DateTimeFormat(LOCALE, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
const fmtFull = new Intl.DateTimeFormat(LOCALE, { dateStyle: 'full', timeStyle: 'medium' });
const fmtShortDate = new Intl.DateTimeFormat(LOCALE, { day: 'numeric', month: 'short' });

function parseDate(v) {
  if (!v) return null;
  const d = new Date(v);
  return isNaN(d.getTime()) ? null : d;
}

/** "10:30" hoy, "5 feb 10:30" otro día. */
export function formatTime(v) {
  const d = parseDate(v);
  if (!d) return '';
  return d.toDateString() === new Date().toDateString() ? fmtTime.format(d) : fmtDayTime.format(d);
}

export function formatFull(v) { const d = parseDate(v); return d ? fmtFull.format(d) : ''; }

const fmtDateTime = new Intl.DateTimeFormat(LOCALE, { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });

/** "5 dic 2026, 10:30": la fecha completa aunque sea hoy (listas de tickets de distintos días). */
export function formatDateTime(v) { const d = parseDate(v); return d ? fmtDateTime.format(d) : ''; }

/** Un día local de un <input type=date> ("2026-12-05") como instante ISO: su comienzo, o con `next` el del día
 * siguiente (un «Hasta» que incluye ese día entero). null si no es un día. */
export function localDayStart(value, next) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + (next ? 1 : 0));
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** El día local de hoy más `offset` días, como lo escribe un <input type=date> ("2026-12-05"). */
export function localDayValue(offset = 0, now = new Date()) {
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate() + offset);
  return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');
}

/** Segundos entre dos fechas (null si falta alguna). */
export function secondsBetween(from, to) {
  const a = parseDate(from), b = parseDate(to);
  return a && b ? Math.max(0, (b.getTime() - a.getTime()) / 1000) : null;
}

/** "2026-11-20" → "20 nov" (sin desfase de zona horaria). */
export function formatDay(ymd) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(ymd || ''));
  if (!m) return String(ymd || '');
  return fmtShortDate.format(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}

export function relativeTime(v) {
  const d = parseDate(v);
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
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return '—';
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return seconds + ' s';
  const m = Math.round(seconds / 60);
  if (m < 60) return m + ' min';
  const hh = Math.floor(m / 60), mm = m % 60;
  if (hh < 24) return hh + ' h' + (mm ? ' ' + mm + ' min' : '');
  const dd = Math.floor(hh / 24), rh = hh % 24;
  return dd + ' d' + (rh ? ' ' + rh + ' h' : '');
}

export function formatBytes(n) {
  n = Number(n) || 0;
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(n < 10240 ? 1 : 0) + ' KB';
  return (n / 1024 / 1024).toFixed(1) + ' MB';
}

const WEEKDAYS = ['domingo', 'lunes', 'martes', 'miércoles', 'jueves', 'viernes', 'sábado'];
const MONTHS = ['enero', 'febrero', 'marzo', 'abril', 'mayo', 'junio', 'julio', 'agosto', 'septiembre', 'octubre',
  'noviembre', 'diciembre'];

/** El día local de una fecha ("2026-12-2"), para saber si dos mensajes son del mismo día; null si no es fecha. */
export function dayKey(v) {
  const d = parseDate(v);
  return d ? d.getFullYear() + '-' + (d.getMonth() + 1) + '-' + d.getDate() : null;
}

/** El separador de fechas de una conversación: «Hoy», «Ayer», «lunes 30 de noviembre» (con el año si no es este). */
export function dayLabel(v, now = new Date()) {
  const d = parseDate(v);
  if (!d) return '';
  if (dayKey(d) === dayKey(now)) return 'Hoy';
  const y = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  if (dayKey(d) === dayKey(y)) return 'Ayer';
  const text = WEEKDAYS[d.getDay()] + ' ' + d.getDate() + ' de ' + MONTHS[d.getMonth()];
  return d.getFullYear() === now.getFullYear() ? text : text + ' de ' + d.getFullYear();
}
