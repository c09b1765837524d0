/* Mostrador (panel) — verificación en dos pasos (TOTP, RFC 6238: 6 dígitos cada 30 s, de Google Authenticator,
 * Aegis, 1Password, FreeOTP…). Tres sitios:
 *  - el inicio de sesión: con ella activada, POST /api/auth/login/ contesta 401 `two_factor_required` y aquí se pide el
 *    «Código de verificación» (o un código de recuperación `abcd-efgh`), que se reenvía como `otp`; si un
 *    administrador la exige y aún no se activó, contesta 403 `two_factor_setup_required` con un `setup_token` (sin
 *    sesión): con él se activa aquí mismo y se vuelve a pedir el código;
 *  - «Verificación en dos pasos» de la barra superior (cada agente, la suya): GET /api/auth/2fa, activar, desactivar
 *    (POST /api/auth/2fa/disable {password}; 409 si un administrador la exige: su `detail` se muestra tal cual);
 *  - la activación, la misma en ambos: POST /api/auth/2fa/setup → {secret, otpauth_uri, qr_svg}, el primer código en
 *    POST /api/auth/2fa/enable {code} → los diez códigos de recuperación, que se muestran una sola vez.
 * El QR llega como texto SVG: se pinta como <img src="data:image/svg+xml;base64,…"> (la CSP admite `img-src data:`),
 * nunca se inserta en el documento. */
import { api, errorText } from '../lib/api.js';
import { $, h, showText } from '../lib/dom.js';
import { icon, setLabel, withIcon } from '../lib/icons.js';
import { toast } from '../lib/toast.js';
import { openDialog } from './dialogs.js';
import * as session from './session.js';

/** Para los id de los campos de cada activación (la del inicio de sesión y la del diálogo no coinciden). */
let serial = 0;
/** La lectura del estado en curso (una respuesta tardía, de otra apertura, no pisa la actual). */
let loading = null;

/* ----- utilidades ----- */

/** `data:` URL del SVG del QR (texto ASCII del servidor; se codifica como bytes UTF-8 por si acaso). */
function svgDataUrl(svg) {
  const bytes = new TextEncoder().encode(svg);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return 'data:image/svg+xml;base64,' + btoa(binary);
}

/** La clave en grupos de cuatro, para copiarla a mano sin perderse. */
function grouped(secret) { return secret.replace(/(.{4})(?=.)/g, '$1 '); }

/** Copia al portapapeles; sin permiso, con la selección de un campo temporal. */
async function copyText(text, done) {
  let copied = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      copied = true;
    }
  } catch (e) { /* sin permiso: se intenta con la selección */ }
  if (!copied) {
    const area = h('textarea', { class: 'sr-only', readonly: true, 'aria-hidden': 'true' });
    area.value = text;
    (document.querySelector('dialog[open]') || document.body).appendChild(area);
    area.select();
    try { copied = document.execCommand('copy'); } catch (e) { copied = false; }
    area.remove();
  }
  toast(copied ? done : 'No se pudo copiar: selecciónalo y cópialo con Ctrl+C.',
    copied ? 'success' : 'warning');
}

/** Guarda un texto como archivo .txt: un enlace `download` a su blob: URL, liberada cuando ya empezó la descarga. */
function saveText(text, filename) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function codesFile(account, codes) {
  return ['Mostrador: códigos de recuperación de ' + account,
    'Generados el ' + new Date().toLocaleString('es'),
    'Cada código sirve una sola vez para entrar sin el teléfono: escríbelo en lugar del código de la app.',
    '', ...codes, ''].join('\n');
}

function codesText(n) { return n === 1 ? '1 código de recuperación' : n + ' códigos de recuperación'; }

/* ----- la activación (la misma en el inicio de sesión y en el diálogo) ----- */

/**
 * Un bloque que pide un secreto, muestra el QR y la clave, pide el primer código y enseña los códigos de
 * recuperación una sola vez. opts: setupToken (sin sesión: el del inicio de sesión), account (el usuario, para el
 * .txt), onDone() («Ya los guardé»), onCancel() (sin él no hay «Cancelar»), onExpired() (el setup_token caducó).
 */
function enrolment(opts) {
  const id = 'tf-' + (++serial);
  const withToken = opts.setupToken ? { setup_token: opts.setupToken } : {};
  // Sin sesión, el 401 es del setup_token (caducado): no es la sesión del panel la que terminó.
  const how = opts.setupToken ? { auth: false, handle401: false } : {};
  const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const wait = h('p', { class: 'muted small', text: 'Preparando la clave…' });
  const root = h('div', { class: 'tf-enrol', 'aria-busy': 'true' }, err, wait);
  const live = () => root.isConnected;

  function fail(res, fallback) {
    if (res.status === 401 && opts.setupToken) {
      showText(err, 'El permiso para activarla caducó (dura 10 minutos): vuelve a iniciar sesión.');
      if (opts.onExpired) opts.onExpired();
      return;
    }
    showText(err, errorText(res, fallback));
  }

  function scanStep(setup) {
    const qr = typeof setup.qr_svg === 'string' && setup.qr_svg.trimStart().startsWith('<svg')
      ? h('img', {
        class: 'tf-qr-img', src: svgDataUrl(setup.qr_svg), width: 180, height: 180,
        alt: 'Código QR con la clave para tu app de autenticación',
      })
      : h('p', { class: 'muted small', text: 'No se pudo dibujar el código QR: escribe la clave a mano.' });
    const uri = typeof setup.otpauth_uri === 'string' && setup.otpauth_uri.startsWith('otpauth://')
      ? h('a', { class: 'tf-uri small', href: setup.otpauth_uri, text: 'Abrir en una app de este dispositivo' })
      : null;
    return h('section', { class: 'tf-step tf-scan', 'aria-labelledby': id + '-scan' },
      h('h3', { id: id + '-scan', text: '1. Escanea el código QR' }),
      h('div', { class: 'tf-scan-body' },
        h('div', { class: 'tf-qr' }, qr),
        h('div', { class: 'tf-manual' },
          h('p', { class: 'tf-help', text: 'Con la app de autenticación de tu teléfono (Google Authenticator, Aegis, '
            + '1Password, FreeOTP…): «Añadir cuenta» → «Escanear código QR».' }),
          h('p', { class: 'tf-help', id: id + '-manual', text: '¿No puedes escanearlo? Añádela a mano con esta clave '
            + '(basada en el tiempo, 6 dígitos):' }),
          h('div', { class: 'tf-secret-row' },
            h('code', { class: 'tf-secret', 'aria-describedby': id + '-manual', text: grouped(setup.secret) }),
            h('button', {
              type: 'button', class: 'btn btn-ghost btn-sm tf-secret-copy', 'aria-label': 'Copiar la clave',
              onclick: () => copyText(setup.secret, 'Clave copiada al portapapeles.'),
            }, withIcon('copy', 'Copiar'))),
          uri)));
  }

  function confirmStep(scan) {
    const field = h('input', {
      id: id + '-code', class: 'input input-otp tf-code', autocomplete: 'one-time-code', inputmode: 'numeric',
      maxlength: 9, spellcheck: 'false', autocapitalize: 'none', 'aria-describedby': id + '-code-hint', required: true,
    });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary tf-activate' }, withIcon('check', 'Activar'));
    const form = h('form', { class: 'tf-step tf-confirm', novalidate: true, autocomplete: 'off' },
      h('h3', { text: '2. Escribe el código que muestra la app' }),
      h('div', { class: 'field' },
        h('label', { for: id + '-code', text: 'Código de verificación' }),
        field,
        h('span', { id: id + '-code-hint', class: 'hint', text: 'Los 6 dígitos; cambian cada 30 segundos.' })),
      h('div', { class: 'tf-actions' },
        opts.onCancel ? h('button', { type: 'button', class: 'btn btn-ghost tf-cancel', onclick: opts.onCancel,
          text: 'Cancelar' }) : null,
        submit));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      showText(err, null);
      const code = field.value.replace(/\s+/g, '');
      if (!/^\d{6}$/.test(code)) {
        showText(err, 'Escribe los 6 dígitos que muestra la app.');
        field.setAttribute('aria-invalid', 'true');
        field.focus();
        return;
      }
      submit.disabled = true;
      setLabel(submit, 'clock', 'Activando…');
      const res = await api('/api/auth/2fa/enable', { method: 'POST', body: { code, ...withToken }, ...how });
      if (!live()) return;
      submit.disabled = false;
      setLabel(submit, 'check', 'Activar');
      if (!res.ok || !Array.isArray(res.data?.recovery_codes)) {
        // 400: el código no coincide (el motivo, del servidor); 409: ya activada o sin secreto pendiente.
        fail(res, 'No se pudo activar.');
        if (res.status === 400) { field.setAttribute('aria-invalid', 'true'); field.focus(); field.select(); }
        return;
      }
      // La clave sale de la página: ya está en la app.
      scan.remove();
      form.remove();
      showRecovery(res.data.recovery_codes.map(String));
    });
    field.addEventListener('input', () => field.removeAttribute('aria-invalid'));
    return form;
  }

  function showRecovery(codes) {
    const account = opts.account || '';
    const done = h('button', { type: 'button', class: 'btn btn-primary tf-done', onclick: () => opts.onDone() },
      withIcon('check', 'Ya los guardé'));
    const box = h('section', { class: 'tf-step tf-recovery', 'aria-labelledby': id + '-recovery' },
      h('h3', { id: id + '-recovery', text: 'Verificación activada: tus códigos de recuperación' }),
      h('p', { class: 'tf-warning' }, icon('alert'), h('strong', { text: 'Guárdalos ahora: no se volverán a mostrar.' })),
      h('p', { class: 'tf-help', text: 'Si pierdes el teléfono, cada uno sirve una sola vez para entrar: escríbelo '
        + 'en lugar del código de la app. Guárdalos fuera del teléfono (impresos, en un gestor de contraseñas…).' }),
      h('ol', { class: 'tf-codes', 'aria-label': 'Códigos de recuperación' },
        codes.map((c) => h('li', null, h('code', { text: c })))),
      h('div', { class: 'tf-actions' },
        h('button', { type: 'button', class: 'btn btn-ghost btn-sm tf-codes-copy',
          onclick: () => copyText(codes.join('\n'), 'Códigos copiados al portapapeles.') }, withIcon('copy', 'Copiar')),
        h('button', { type: 'button', class: 'btn btn-ghost btn-sm tf-codes-download',
          onclick: () => saveText(codesFile(account, codes), 'mostrador-codigos-recuperacion'
            + (account ? '-' + account.replace(/[^\w.-]+/g, '_') : '') + '.txt') },
        withIcon('download', 'Descargar (.txt)')),
        done));
    root.appendChild(box);
    done.focus();
  }

  (async () => {
    const res = await api('/api/auth/2fa/setup', { method: 'POST', body: withToken, ...how });
    if (!live()) return;
    wait.remove();
    root.removeAttribute('aria-busy');
    if (!res.ok || typeof res.data?.secret !== 'string') {
      fail(res, 'No se pudo preparar la clave.');
      if (opts.onCancel) {
        root.appendChild(h('div', { class: 'tf-actions' },
          h('button', { type: 'button', class: 'btn btn-ghost tf-cancel', onclick: opts.onCancel, text: 'Volver' })));
      }
      return;
    }
    const scan = scanStep(res.data);
    const form = confirmStep(scan);
    root.append(scan, form);
    // El foco en el código, sin desplazar: primero hay que ver el QR, que está encima.
    form.querySelector('input').focus({ preventScroll: true });
  })();
  return root;
}

/* ----- el inicio de sesión ----- */

/** Muestra (o quita) el «Código de verificación» del formulario de inicio de sesión. */
function askCode(on) {
  $('#otp-field').hidden = !on;
  if (!on) {
    $('#otp').value = '';
    $('#otp').removeAttribute('aria-invalid');
    showText($('#login-note'), null);
  }
}

/** El código escrito si se pidió ('' si falta); null si no se pidió. Va como `otp` en POST /api/auth/login/. */
export function loginCode() {
  return $('#otp-field').hidden ? null : $('#otp').value.trim();
}

function showLoginForm() {
  $('#login-enrol').hidden = true;
  $('#login-enrol-body').replaceChildren();
  $('#login-form').hidden = false;
}

/** Activarla sin sesión, con el setup_token del inicio de sesión; al terminar se vuelve al formulario con el código. */
function enrolAtLogin(res, username) {
  showText($('#login-error'), null);
  $('#login-enrol-reason').textContent = errorText(res, 'Un administrador exige la verificación en dos pasos: actívala para entrar.');
  const back = () => {
    showLoginForm();
    askCode(false);
    $('#password').focus();
  };
  const block = enrolment({
    setupToken: res.data.setup_token, account: username, onCancel: back,
    onExpired: () => {
      block.querySelectorAll('form, .tf-scan').forEach((el) => el.remove());
      block.appendChild(h('div', { class: 'tf-actions' },
        h('button', { type: 'button', class: 'btn btn-primary tf-cancel', onclick: back, text: 'Volver a iniciar sesión' })));
    },
    onDone: () => {
      showLoginForm();
      askCode(true);
      showText($('#login-note'), 'Listo: la verificación en dos pasos está activada. Para entrar, espera a que tu app '
        + 'muestre un código nuevo y escríbelo.');
      $('#otp').focus();
    },
  });
  $('#login-form').hidden = true;
  $('#login-enrol-body').replaceChildren(block);
  $('#login-enrol').hidden = false;
}

/**
 * La respuesta de POST /api/auth/login/ (sent: {username, otp}). true si era de la verificación en dos pasos y ya
 * se atendió (se pide el código, o se activa); false si el resto la trata (entrar, o el error de siempre).
 */
export function twoFactorLogin(res, sent) {
  if (res.ok) { askCode(false); return false; }
  const data = res.data || {};
  if (res.status === 401 && data.two_factor_required === true) {
    showText($('#login-note'), null);
    askCode(true);
    const field = $('#otp');
    // Con un código: era incorrecto (el motivo, del servidor). Sin él: solo se pide.
    if (sent.otp) {
      showText($('#login-error'), errorText(res, 'Código de verificación incorrecto.'));
      field.setAttribute('aria-invalid', 'true');
      field.select();
    }
    field.focus();
    return true;
  }
  if (res.status === 403 && data.two_factor_setup_required === true && typeof data.setup_token === 'string') {
    enrolAtLogin(res, sent.username);
    return true;
  }
  return false;
}

/* ----- «Verificación en dos pasos» (la del agente con sesión) ----- */

function paintState(st) {
  const badge = $('#two-factor-badge');
  badge.textContent = st.enabled ? 'Activada' : 'Desactivada';
  badge.className = 'badge ' + (st.enabled ? 'badge-verified' : 'badge-unverified');
  let text;
  if (st.enabled) {
    text = 'Al entrar se te pide un código de tu app. Te quedan ' + codesText(st.recovery_codes_left) + '.';
    if (st.required) text += ' Un administrador la exige: no se puede desactivar.';
  } else {
    text = st.required ? 'Un administrador la exige: actívala (al volver a entrar se te pedirá hacerlo).'
      : 'Solo se pide la contraseña al entrar.';
  }
  $('#two-factor-detail').textContent = text;
  $('#two-factor-enable').hidden = st.enabled;
  $('#two-factor-disable').hidden = !st.enabled;
  $('#two-factor-state').hidden = false;
}

function hideDisable() {
  $('#two-factor-disable-form').hidden = true;
  $('#two-factor-password').value = '';
  showText($('#two-factor-disable-error'), null);
}

function hideEnrol() {
  $('#two-factor-enrol').hidden = true;
  $('#two-factor-enrol').replaceChildren();
}

async function loadState() {
  const me = {};
  loading = me;
  showText($('#two-factor-error'), null);
  $('#two-factor-loading').hidden = false;
  const res = await api('/api/auth/2fa');
  if (loading !== me) return;
  loading = null;
  $('#two-factor-loading').hidden = true;
  if (res.status === 401) return;
  if (!res.ok || typeof res.data?.enabled !== 'boolean') {
    $('#two-factor-state').hidden = true;
    showText($('#two-factor-error'), 'No se pudo leer la verificación en dos pasos: ' + errorText(res));
    return;
  }
  paintState(res.data);
}

function startEnrol() {
  hideDisable();
  $('#two-factor-state').hidden = true;
  const close = () => { hideEnrol(); loadState().then(() => $('#two-factor-disable').focus()); };
  const block = enrolment({
    account: session.user()?.username || '',
    onCancel: () => { hideEnrol(); loadState().then(() => $('#two-factor-enable').focus()); },
    onDone: () => { toast('Verificación en dos pasos activada.', 'success'); close(); },
  });
  $('#two-factor-enrol').replaceChildren(block);
  $('#two-factor-enrol').hidden = false;
}

function startDisable() {
  hideDisable();
  $('#two-factor-disable-form').hidden = false;
  $('#two-factor-password').focus();
}

async function onDisableSubmit(ev) {
  ev.preventDefault();
  const err = $('#two-factor-disable-error');
  showText(err, null);
  const field = $('#two-factor-password');
  if (!field.value) {
    showText(err, 'Escribe tu contraseña.');
    field.focus();
    return;
  }
  const btn = $('#two-factor-disable-submit');
  btn.disabled = true;
  setLabel(btn, 'clock', 'Desactivando…');
  const res = await api('/api/auth/2fa/disable', { method: 'POST', body: { password: field.value } });
  btn.disabled = false;
  setLabel(btn, 'x-circle', 'Desactivar');
  if (res.status === 401) return;
  if (!res.ok || typeof res.data?.enabled !== 'boolean') {
    // 403: contraseña incorrecta; 409: un administrador la exige (el motivo, del servidor).
    showText(err, errorText(res, 'No se pudo desactivar.'));
    field.select();
    field.focus();
    return;
  }
  hideDisable();
  paintState(res.data);
  toast('Verificación en dos pasos desactivada.', 'success');
  $('#two-factor-enable').focus();
}

/** Abre «Verificación en dos pasos» (desde la barra superior) con lo que dice el servidor ahora. */
export function openTwoFactor(from) {
  hideDisable();
  hideEnrol();
  $('#two-factor-state').hidden = true;
  openDialog($('#two-factor-modal'), from || document.activeElement);
  loadState().then(() => {
    const modal = $('#two-factor-modal');
    if (!modal.open || $('#two-factor-state').hidden) return;
    ($('#two-factor-enable').hidden ? $('#two-factor-disable') : $('#two-factor-enable')).focus();
  });
}

export function setupTwoFactor() {
  $('#two-factor-btn').addEventListener('click', (ev) => openTwoFactor(ev.currentTarget));
  $('#two-factor-enable').addEventListener('click', startEnrol);
  $('#two-factor-disable').addEventListener('click', startDisable);
  $('#two-factor-disable-cancel').addEventListener('click', () => { hideDisable(); $('#two-factor-disable').focus(); });
  $('#two-factor-disable-form').addEventListener('submit', onDisableSubmit);
  // Al cerrar el diálogo, la clave y los códigos de recuperación salen de la página.
  $('#two-factor-modal').addEventListener('close', () => { loading = null; hideEnrol(); hideDisable(); });
  // Otro usuario: el código que se pidió era para el anterior.
  $('#username').addEventListener('input', () => { if (!$('#otp-field').hidden) askCode(false); });
  $('#otp').addEventListener('input', (ev) => ev.currentTarget.removeAttribute('aria-invalid'));
}

/** Al cerrar sesión: el próximo inicio vuelve a empezar sin código; nada de una activación queda en la página. */
export function forgetTwoFactor() {
  loading = null;
  askCode(false);
  showLoginForm();
  hideEnrol();
  hideDisable();
  $('#two-factor-state').hidden = true;
}
