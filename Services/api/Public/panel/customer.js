/* Mostrador (panel) — «Historial del cliente» (desde la cabecera del chat): quién es la persona en cada canal (su
 * teléfono, su @lid y su BSUID de WhatsApp), todos sus tickets que el técnico puede ver, del más nuevo al más viejo,
 * y las fusiones que la hicieron un solo cliente. GET /api/customers/{id}. No es el «Historial» de cada fila de la
 * lista (history.js), que muestra los mensajes de un ticket. */
import { api, errorText } from '../lib/api.js';
import { $, h } from '../lib/dom.js';
import { formatDateTime, formatDuration, formatFull, relativeTime, secondsBetween, truncate } from '../lib/format.js';
import { icon, withIcon } from '../lib/icons.js';
import { openDialog } from './dialogs.js';
import { estadoBadge } from './estados.js';
import { categoriaBadge, remember } from './tickets.js';

const IDENTIDAD = { phone: 'Teléfono', lid: 'WhatsApp @lid', bsuid: 'BSUID de WhatsApp' };
const VERIFICADA = { whatsapp: 'verificado por WhatsApp' };
const CANAL = { whatsapp: 'WhatsApp', web: 'Chat web' };

/** La consulta en curso: una respuesta vieja (otro cliente, el diálogo ya cerrado) no se dibuja. */
let request = 0;

/**
 * Abre el historial del cliente `clienteId`. opts: current (el ticket del chat abierto, que se marca), opener (el
 * botón: el foco vuelve ahí), openTicket(id) (abrir el chat de un ticket de la lista).
 */
export async function openCustomerHistory(clienteId, { current = null, opener = null, openTicket } = {}) {
  const dlg = $('#customer-modal');
  const body = $('#customer-body');
  const my = ++request;
  $('#customer-sub').textContent = 'Cliente #' + clienteId;
  body.setAttribute('aria-busy', 'true');
  body.replaceChildren(h('p', { class: 'customer-status', role: 'status', text: 'Cargando historial del cliente…' }));
  openDialog(dlg, opener);
  const res = await api('/api/customers/' + encodeURIComponent(clienteId));
  if (my !== request || !dlg.open) return;
  body.removeAttribute('aria-busy');
  if (!res.ok) {
    if (res.status === 401) return;
    const why = res.status === 404 ? 'No tienes acceso a los tickets de este cliente.' : errorText(res);
    body.replaceChildren(h('p', { class: 'banner banner-error', role: 'alert', text: 'No se pudo cargar el historial del cliente: ' + why }));
    return;
  }
  const d = res.data;
  d.tickets.forEach(remember);
  $('#customer-sub').textContent = subtitle(d);
  const pick = (id) => {
    dlg.close();
    if (openTicket) openTicket(id);
  };
  body.replaceChildren(
    identitiesSection(d.identidades),
    ticketsSection(d.tickets, current, pick),
    mergesSection(d.fusiones));
}

/** «Nombre · correo · cliente #N» (y de qué número venía si ese cliente se unió a otro). */
function subtitle(d) {
  const parts = [d.nombre || 'Cliente sin nombre'];
  if (d.email) parts.push(d.email);
  parts.push('cliente #' + d.id + (d.solicitado !== d.id ? ' (antes #' + d.solicitado + ')' : ''));
  return parts.join(' · ');
}

function section(id, title, ...content) {
  return h('section', { class: 'customer-section', 'aria-labelledby': id }, h('h3', { id, text: title }), ...content);
}

function when(v, prefix) {
  return h('time', { datetime: v || '', title: formatFull(v), text: prefix + formatDateTime(v) });
}

/* ----- identidades: teléfono, @lid, BSUID ----- */

function identitiesSection(list) {
  if (!list.length) {
    return section('customer-ids-title', 'Identidades',
      h('p', { class: 'muted small', text: 'Sin identidades de WhatsApp registradas (cliente del chat web).' }));
  }
  return section('customer-ids-title', 'Identidades',
    h('ul', { class: 'customer-identities' }, list.map((i) => {
      const verified = i.verificada_por
        ? h('span', { class: 'badge badge-verified', text: VERIFICADA[i.verificada_por] || 'verificado por ' + i.verificada_por })
        : h('span', { class: 'badge badge-unverified', text: 'sin verificar' });
      return h('li', { class: 'customer-identity', dataset: { tipo: i.tipo } },
        h('span', { class: 'identity-kind', text: IDENTIDAD[i.tipo] || i.tipo }),
        h('span', { class: 'identity-address', text: i.direccion }),
        verified,
        h('span', { class: 'identity-dates muted small' },
          when(i.desde, 'desde '), ' · ',
          h('time', { datetime: i.ultimo_uso || '', title: formatFull(i.ultimo_uso), text: 'último uso ' + relativeTime(i.ultimo_uso) })));
    })));
}

/* ----- tickets: del más nuevo al más viejo ----- */

function firstResponse(t) {
  const s = secondsBetween(t.created_at, t.first_response_at);
  return s === null
    ? h('span', { class: 'ticket-first-response is-none', text: '1ª respuesta: sin respuesta' })
    : h('span', { class: 'ticket-first-response', title: formatFull(t.first_response_at), text: '1ª respuesta: ' + formatDuration(s) });
}

function ticketItem(t, current, pick) {
  const isCurrent = t.id === current;
  const desc = t.descripcion || '';
  return h('li', null, h('button', {
    type: 'button', class: 'customer-ticket', 'aria-current': isCurrent ? 'true' : null,
    dataset: { ticketId: t.id, estado: t.estado },
    title: isCurrent ? 'Volver al chat de este ticket' : 'Abrir el chat del ticket #' + t.id,
    onclick: () => pick(t.id),
  },
  h('span', { class: 'customer-ticket-head' },
    h('span', { class: 'ticket-num', text: '#' + t.id }),
    when(t.created_at, ''),
    h('span', { class: 'badge-stack' },
      estadoBadge(t.estado),
      categoriaBadge(t.categoria),
      h('span', { class: 'badge badge-channel', text: CANAL[t.channel] || t.channel })),
    isCurrent ? h('span', { class: 'customer-ticket-current', text: '(este ticket)' }) : null),
  t.equipo ? h('span', { class: 'customer-ticket-equipo', title: t.equipo }, withIcon('laptop', truncate(t.equipo, 80))) : null,
  h('span', { class: 'customer-ticket-desc' + (desc ? '' : ' muted'), title: desc || null, text: desc ? truncate(desc, 160) : '(sin descripción)' }),
  firstResponse(t)));
}

function ticketsSection(list, current, pick) {
  const title = 'Tickets (' + list.length + ')';
  if (!list.length) return section('customer-tickets-title', title, h('p', { class: 'muted small', text: 'Sin tickets visibles.' }));
  return section('customer-tickets-title', title,
    h('ol', { class: 'customer-tickets' }, list.map((t) => ticketItem(t, current, pick))));
}

/* ----- fusiones ----- */

function mergesSection(list) {
  if (!list.length) return section('customer-merges-title', 'Fusiones', h('p', { class: 'muted small', text: 'Sin fusiones.' }));
  return section('customer-merges-title', 'Fusiones',
    h('ul', { class: 'customer-merges' }, list.map((m) => h('li', { class: 'customer-merge' },
      icon('transfer'),
      h('span', { class: 'merge-text', text: 'Se unió con el cliente #' + m.cliente_unido + ': ' + m.evidencia }),
      h('span', { class: 'muted small' }, when(m.fecha, ''))))));
}
