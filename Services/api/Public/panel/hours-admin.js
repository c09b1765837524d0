/* Mostrador (panel) — «Horario de atención», solo para administradores (GET/PUT /api/settings/business-hours
 * {enabled, time_zone, week, holidays, away_message}). Con el horario activo, un cliente que escribe fuera de él
 * (WhatsApp o web) recibe el mensaje de ausencia una vez por ticket (el asistente de recepción sigue), el ticket queda
 * marcado «Fuera de horario» y los indicadores cuentan también la primera respuesta en horario de atención.
 *
 * El formulario manda el ajuste entero: la zona horaria (IANA: una de la lista o escrita a mano), la semana (día ISO
 * "1" lunes … "7" domingo → intervalos ["09:00", "18:00"]; aquí de 0 a 2 por día con <input type=time>, «Cerrado»
 * sin ninguno; un cierre a las 00:00 es la medianoche, que el servidor escribe "24:00"), los feriados (AAAA-MM-DD en
 * la zona) y el mensaje de ausencia (vacío: el del servidor, en el idioma del ticket). El servidor dice qué falla con
 * 400 (una zona desconocida, un intervalo que cierra antes de abrir…): su `detail` se muestra tal cual. Cada cambio
 * queda en el registro de auditoría (`settings.business_hours`). */
import { api, errorText } from '../lib/api.js';
import { $, $$, h, showText } from '../lib/dom.js';
import { icon, setLabel, withIcon } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import { openDialog } from './dialogs.js';
import * as session from './session.js';

const PATH = '/api/settings/business-hours';

/** Lo que el servidor envía a un cliente de habla hispana si no hay mensaje propio (BusinessHours.defaultAway). */
export const DEFAULT_AWAY = '¡Gracias por escribirnos! En este momento estamos fuera de nuestro horario de atención. '
  + 'Un técnico te responderá en cuanto abramos; mientras tanto, cuéntanos qué le pasa a tu equipo.';

/** Los días, con su número ISO (el del servidor). */
export const DAYS = [['1', 'Lunes'], ['2', 'Martes'], ['3', 'Miércoles'], ['4', 'Jueves'], ['5', 'Viernes'],
  ['6', 'Sábado'], ['7', 'Domingo']];

/** Intervalos por día que ofrece el editor (el servidor admite hasta 6: los que ya hubiera se muestran todos). */
const MAX_INTERVALS = 2;

/** Zonas horarias habituales de América Latina y España; otra cualquiera se escribe a mano. */
export const ZONES = [
  ['America/Mexico_City', 'Ciudad de México'],
  ['America/Monterrey', 'Monterrey'],
  ['America/Cancun', 'Cancún'],
  ['America/Chihuahua', 'Chihuahua'],
  ['America/Hermosillo', 'Hermosillo'],
  ['America/Mazatlan', 'Mazatlán'],
  ['America/Tijuana', 'Tijuana'],
  ['America/Guatemala', 'Guatemala'],
  ['America/El_Salvador', 'El Salvador'],
  ['America/Tegucigalpa', 'Honduras'],
  ['America/Managua', 'Nicaragua'],
  ['America/Costa_Rica', 'Costa Rica'],
  ['America/Panama', 'Panamá'],
  ['America/Havana', 'La Habana'],
  ['America/Santo_Domingo', 'Santo Domingo'],
  ['America/Puerto_Rico', 'Puerto Rico'],
  ['America/Bogota', 'Bogotá'],
  ['America/Caracas', 'Caracas'],
  ['America/Guayaquil', 'Ecuador'],
  ['America/Lima', 'Lima'],
  ['America/La_Paz', 'La Paz'],
  ['America/Santiago', 'Santiago de Chile'],
  ['America/Asuncion', 'Asunción'],
  ['America/Argentina/Buenos_Aires', 'Buenos Aires'],
  ['America/Montevideo', 'Montevideo'],
  ['America/Sao_Paulo', 'São Paulo'],
  ['Europe/Madrid', 'Madrid'],
  ['Atlantic/Canary', 'Canarias'],
  ['UTC', 'UTC'],
];
const OTHER = '__other__';

const fmtHoliday = new Intl.DateTimeFormat('es-MX', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });

/** La lectura en curso (una respuesta que llega tarde, de otra apertura, no pisa lo que se está editando). */
let loading = null;
/** Los feriados del formulario, AAAA-MM-DD, ordenados. */
let holidays = [];

export function isAdmin() { return session.agent()?.role === 'admin'; }

/** El botón de la barra superior: solo para administradores. */
export function showHoursEntry() { $('#hours-btn').hidden = !isAdmin(); }

/** "2026-12-25" → «vie, 25 dic 2026» (el día tal cual, sin desfase de zona horaria). */
export function holidayText(ymd) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || '');
  return m ? fmtHoliday.format(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : String(ymd || '');
}

/* ----- el interruptor y la zona ----- */

function paintSwitch() {
  $('#hours-enabled-text').textContent = $('#hours-enabled').checked ? 'Activado' : 'Desactivado';
}

function zoneOptions() {
  return [...ZONES.map(([zone, name]) => h('option', { value: zone, text: name + ' (' + zone + ')' })),
    h('option', { value: OTHER, text: 'Otra zona (escribirla)…' })];
}

/** «Otra zona»: el campo de texto a la vista. */
function syncZone() {
  const other = $('#hours-zone').value === OTHER;
  $('#hours-zone-other-field').hidden = !other;
}

function setZone(zone) {
  const known = ZONES.some(([z]) => z === zone);
  $('#hours-zone').value = known ? zone : OTHER;
  $('#hours-zone-other').value = known ? '' : zone || '';
  syncZone();
}

function chosenZone() {
  const value = $('#hours-zone').value;
  return value === OTHER ? $('#hours-zone-other').value.trim() : value;
}

/* ----- la semana ----- */

function dayItem(day) { return $(`#hours-week .hours-day[data-day="${day}"]`); }

function dayName(day) { return (DAYS.find(([d]) => d === day) || [day, 'Día ' + day])[1]; }

/** "24:00" (el fin del día) se muestra como 00:00: <input type=time> no conoce las 24. */
const shownTime = (v) => (v === '24:00' ? '00:00' : v || '');

/** Un intervalo: apertura – cierre y el botón que lo quita. */
function intervalEl(day, index, open, close) {
  const name = dayName(day);
  const n = index + 1;
  return h('span', { class: 'hours-interval', dataset: { index } },
    h('input', {
      type: 'time', class: 'input hours-open', value: shownTime(open), required: true,
      'aria-label': name + ': apertura' + (n > 1 ? ' ' + n : ''),
    }),
    h('span', { class: 'hours-dash', 'aria-hidden': 'true', text: '–' }),
    h('input', {
      type: 'time', class: 'input hours-close', value: shownTime(close), required: true,
      'aria-label': name + ': cierre' + (n > 1 ? ' ' + n : ''),
    }),
    h('button', {
      type: 'button', class: 'btn-icon hours-remove', title: 'Quitar este intervalo',
      'aria-label': 'Quitar el intervalo ' + n + ' del ' + name.toLowerCase(),
      onclick: () => removeInterval(day, index),
    }, icon('x')));
}

/** Los intervalos de un día como están en el formulario: [[apertura, cierre]…] (lo escrito, sin validar). */
function readDay(day) {
  return $$('.hours-interval', dayItem(day)).map((el) => [$('.hours-open', el).value, $('.hours-close', el).value]);
}

/** Dibuja un día con sus intervalos (ninguno: «Cerrado»). */
function renderDay(day, intervals) {
  const li = dayItem(day);
  const box = $('.hours-intervals', li);
  box.replaceChildren(...(intervals.length
    ? intervals.map(([open, close], i) => intervalEl(day, i, open, close))
    : [h('span', { class: 'hours-closed', text: 'Cerrado' })]));
  li.dataset.closed = intervals.length ? 'false' : 'true';
  $('.hours-add', li).disabled = intervals.length >= MAX_INTERVALS;
}

function addInterval(day) {
  const intervals = readDay(day);
  if (intervals.length >= MAX_INTERVALS) return;
  // El primero, una jornada; el segundo, la tarde (se corrigen a mano).
  intervals.push(intervals.length ? ['16:00', '20:00'] : ['09:00', '18:00']);
  renderDay(day, intervals);
  const added = $$('.hours-interval', dayItem(day)).pop();
  $('.hours-open', added).focus();
}

function removeInterval(day, index) {
  const intervals = readDay(day);
  intervals.splice(index, 1);
  renderDay(day, intervals);
  const li = dayItem(day);
  const next = $$('.hours-interval', li)[Math.min(index, intervals.length - 1)];
  (next ? $('.hours-open', next) : $('.hours-add', li)).focus();
}

function buildWeek() {
  $('#hours-week').replaceChildren(...DAYS.map(([day, name]) => h('li', { class: 'hours-day', dataset: { day } },
    h('span', { class: 'hours-day-name', id: 'hours-day-' + day, text: name }),
    h('div', { class: 'hours-intervals', role: 'group', 'aria-labelledby': 'hours-day-' + day }),
    h('button', {
      type: 'button', class: 'btn btn-ghost btn-sm hours-add', 'aria-label': 'Agregar un intervalo al ' + name.toLowerCase(),
      onclick: () => addInterval(day),
    }, withIcon('plus', 'Agregar intervalo')))));
}

/* ----- los feriados ----- */

function renderHolidays() {
  $('#hours-holidays').replaceChildren(...holidays.map((day) => h('li', { class: 'hours-holiday', dataset: { date: day } },
    h('time', { datetime: day, title: day, text: holidayText(day) }),
    h('button', {
      type: 'button', class: 'btn-icon hours-holiday-remove', 'aria-label': 'Quitar el feriado del ' + holidayText(day),
      onclick: () => removeHoliday(day),
    }, icon('x')))));
  $('#hours-holidays').hidden = !holidays.length;
  $('#hours-holidays-empty').hidden = !!holidays.length;
}

function addHoliday() {
  const field = $('#hours-holiday');
  const day = field.value;
  showText($('#hours-error'), null);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) {
    showText($('#hours-error'), 'Elige la fecha del feriado.');
    field.focus();
    return;
  }
  if (!holidays.includes(day)) holidays = [...holidays, day].sort();
  renderHolidays();
  field.value = '';
  field.focus();
}

function removeHoliday(day) {
  const index = holidays.indexOf(day);
  holidays = holidays.filter((d) => d !== day);
  renderHolidays();
  const buttons = $$('#hours-holidays .hours-holiday-remove');
  (buttons[Math.min(index, buttons.length - 1)] || $('#hours-holiday')).focus();
}

/* ----- leer y guardar ----- */

/** El ajuste del servidor, en el formulario. */
function fill(hours) {
  $('#hours-enabled').checked = !!hours.enabled;
  paintSwitch();
  setZone(hours.time_zone);
  const week = hours.week && typeof hours.week === 'object' ? hours.week : {};
  for (const [day] of DAYS) renderDay(day, Array.isArray(week[day]) ? week[day] : []);
  holidays = Array.isArray(hours.holidays) ? [...new Set(hours.holidays)].sort() : [];
  renderHolidays();
  $('#hours-away').value = hours.away_message || '';
}

function setBusy(on) {
  for (const el of $$('#hours-form input, #hours-form select, #hours-form textarea, #hours-form button:not([data-close-dialog])')) {
    el.disabled = on;
  }
  if (on) $('#hours-modal').setAttribute('aria-busy', 'true');
  else {
    $('#hours-modal').removeAttribute('aria-busy');
    // Los días con el máximo de intervalos siguen sin «Agregar intervalo».
    for (const [day] of DAYS) $('.hours-add', dayItem(day)).disabled = readDay(day).length >= MAX_INTERVALS;
  }
}

async function load() {
  const me = {};
  loading = me;
  showText($('#hours-error'), null);
  $('#hours-loading').hidden = false;
  setBusy(true);
  const res = await api(PATH);
  if (loading !== me) return;
  loading = null;
  $('#hours-loading').hidden = true;
  if (res.status === 401) return;
  if (!res.ok || !res.data || typeof res.data.enabled !== 'boolean') {
    // El formulario queda sin poder guardarse: no se sabe cómo está.
    showText($('#hours-error'), 'No se pudo leer el horario de atención: ' + errorText(res));
    $('#hours-modal').removeAttribute('aria-busy');
    return;
  }
  fill(res.data);
  setBusy(false);
}

/** El campo del que habla un 400 del servidor (o el problema encontrado aquí). */
function fieldFor(detail) {
  if (/time_zone|zona/i.test(detail)) return $('#hours-zone').value === OTHER ? $('#hours-zone-other') : $('#hours-zone');
  if (/feriado/i.test(detail)) return $('#hours-holiday');
  if (/away_message/i.test(detail)) return $('#hours-away');
  const day = /\(día (\d)\)/.exec(detail);
  if (day && dayItem(day[1])) return $('input, .hours-add', dayItem(day[1]));
  return $('#hours-enabled');
}

async function onSubmit(ev) {
  ev.preventDefault();
  if (loading) return;
  const err = $('#hours-error');
  showText(err, null);
  const zone = chosenZone();
  if (!zone) {
    showText(err, 'Escribe la zona horaria, por ejemplo America/Mexico_City.');
    $('#hours-zone-other').focus();
    return;
  }
  const week = {};
  for (const [day, name] of DAYS) {
    const intervals = readDay(day);
    const empty = $$('.hours-interval input', dayItem(day)).find((input) => !input.value);
    if (empty) {
      showText(err, 'Completa la apertura y el cierre de cada intervalo del ' + name.toLowerCase() + ' (o quítalo).');
      empty.focus();
      return;
    }
    // Un cierre a las 00:00 es la medianoche: el fin del día.
    week[day] = intervals.map(([open, close]) => [open, close === '00:00' ? '24:00' : close]);
  }
  const away = $('#hours-away').value.trim();
  const body = {
    enabled: $('#hours-enabled').checked, time_zone: zone, week, holidays: [...holidays], away_message: away || null,
  };
  const btn = $('#hours-submit');
  setBusy(true);
  setLabel(btn, 'clock', 'Guardando…');
  const res = await api(PATH, { method: 'PUT', body });
  setBusy(false);
  setLabel(btn, 'check', 'Guardar');
  if (res.status === 401) return;
  if (!res.ok) {
    // 400: una zona, un intervalo, un feriado o un mensaje que no valen (el `detail` del servidor); 403: ya no es
    // administrador.
    const detail = errorText(res, 'No se pudo guardar el horario de atención.');
    showText(err, res.status === 400 ? detail : 'No se pudo guardar: ' + detail);
    if (res.status === 400) fieldFor(detail).focus();
    return;
  }
  fill(res.data);
  $('#hours-modal').close();
  toast(res.data.enabled
    ? 'Horario de atención guardado: fuera de él, los clientes reciben el mensaje de ausencia.'
    : 'Horario de atención desactivado: no se envía el mensaje de ausencia.', 'success');
}

/** Abre «Horario de atención» (desde la barra superior) con lo que dice el servidor ahora. */
export function openHoursAdmin(from) {
  if (!isAdmin()) return;
  openDialog($('#hours-modal'), from || document.activeElement);
  load().then(() => {
    if ($('#hours-modal').open && !$('#hours-enabled').disabled) $('#hours-enabled').focus();
  });
}

export function setupHoursAdmin() {
  $('#hours-zone').replaceChildren(...zoneOptions());
  $('#hours-away').placeholder = DEFAULT_AWAY;
  buildWeek();
  for (const [day] of DAYS) renderDay(day, []);
  renderHolidays();
  $('#hours-btn').addEventListener('click', (ev) => openHoursAdmin(ev.currentTarget));
  $('#hours-form').addEventListener('submit', onSubmit);
  $('#hours-enabled').addEventListener('change', paintSwitch);
  $('#hours-zone').addEventListener('change', () => {
    syncZone();
    if ($('#hours-zone').value === OTHER) $('#hours-zone-other').focus();
  });
  $('#hours-holiday-add').addEventListener('click', addHoliday);
  $('#hours-holiday').addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    ev.preventDefault();
    addHoliday();
  });
  $('#hours-modal').addEventListener('close', () => { loading = null; });
}

/** Al cerrar sesión. */
export function forgetHoursAdmin() {
  loading = null;
  $('#hours-btn').hidden = true;
  $('#hours-enabled').checked = false;
  paintSwitch();
  setZone('America/Mexico_City');
  for (const [day] of DAYS) renderDay(day, []);
  holidays = [];
  renderHolidays();
  $('#hours-holiday').value = '';
  $('#hours-away').value = '';
  showText($('#hours-error'), null);
}
