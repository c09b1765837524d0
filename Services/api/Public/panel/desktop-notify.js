/* Mostrador (panel) — avisos de escritorio (Notification API): un mensaje nuevo del cliente en el chat abierto
 * mientras la pestaña está en segundo plano. El permiso se pide solo desde un gesto del usuario (el botón
 * «Activar avisos de escritorio» de la barra superior); nunca se avisa con la pestaña a la vista. Pulsar el aviso
 * trae la pestaña al frente y abre el chat del ticket. */
import { $ } from '../lib/dom.js';
import { truncate } from '../lib/format.js';
import { setLabel } from '../lib/icons.js';
import { toast } from '../lib/toast.js';

/** La preferencia de este navegador (no es un dato de la sesión): 'on' u 'off'. */
const KEY = 'mostrador.desktopNotify';
/** Cuánto del texto del mensaje va en el aviso. */
const BODY_CHARS = 120;

let openTicket = () => {};

function supported() { return typeof window.Notification === 'function'; }
function permission() { return supported() ? window.Notification.permission : 'denied'; }

function wanted() {
  try { return localStorage.getItem(KEY) === 'on'; } catch (e) { return false; }
}
function setWanted(on) {
  try { localStorage.setItem(KEY, on ? 'on' : 'off'); } catch (e) { /* sin almacenamiento: solo esta vez */ }
}

/** true si los avisos están activados y el navegador los permite. */
export function desktopNotifyEnabled() { return wanted() && permission() === 'granted'; }

function render() {
  const btn = $('#desktop-notify-toggle');
  if (!btn) return;
  const on = desktopNotifyEnabled();
  btn.setAttribute('aria-pressed', on ? 'true' : 'false');
  btn.hidden = !supported();
  setLabel(btn, 'bell', on ? 'Avisos de escritorio activados' : 'Activar avisos de escritorio');
  btn.title = on ? 'Pulsa para dejar de recibir avisos de escritorio'
    : permission() === 'denied' ? 'El navegador bloqueó los avisos de este sitio; permítelos en su configuración'
      : 'Avisar en el escritorio cuando un cliente escriba y esta pestaña no esté a la vista';
}

async function onToggle() {
  if (!supported()) return;
  if (desktopNotifyEnabled()) { setWanted(false); render(); return; }
  let p = permission();
  if (p === 'default') {
    try { p = await window.Notification.requestPermission(); } catch (e) { p = permission(); }
  }
  if (p === 'granted') {
    setWanted(true); // el botón ya lo dice (aria-pressed y su texto)
  } else {
    setWanted(false);
    toast('El navegador no permite avisos de este sitio; actívalos en su configuración.', 'info');
  }
  render();
}

/** Un mensaje nuevo del cliente `name` en el ticket `ticketId`: aviso de escritorio si la pestaña no se ve. */
export function notifyCustomerMessage(ticketId, name, text) {
  if (!desktopNotifyEnabled() || document.visibilityState !== 'hidden') return null;
  try {
    const n = new window.Notification('Nuevo mensaje de ' + (name || 'un cliente') + ' (ticket #' + ticketId + ')', {
      body: truncate(text || '(archivo)', BODY_CHARS), tag: 'mostrador-ticket-' + ticketId, lang: 'es',
    });
    n.onclick = () => {
      window.focus();
      n.close();
      openTicket(ticketId);
    };
    return n;
  } catch (e) {
    return null; // p. ej. Chrome en Android solo admite avisos desde un service worker
  }
}

/** open(ticketId): abre (o deja abierto) el chat de ese ticket. */
export function setupDesktopNotify({ open }) {
  openTicket = open;
  $('#desktop-notify-toggle')?.addEventListener('click', onToggle);
  render();
}
