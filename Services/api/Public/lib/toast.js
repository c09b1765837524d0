/* Mostrador — avisos efímeros. Deben verse sobre los diálogos modales (capa superior): popover manual. */
import { h } from './dom.js';
import { icon } from './icons.js';

function toastBox() {
  let box = document.getElementById('toasts');
  if (!box) { box = h('div', { id: 'toasts', class: 'toasts', 'aria-live': 'polite' }); document.body.appendChild(box); }
  if (typeof box.showPopover !== 'function') {
    // Navegador sin popover: dentro del último diálogo abierto, que es lo que queda encima.
    const open = document.querySelectorAll('dialog[open]');
    const host = open.length ? open[open.length - 1] : document.body;
    if (box.parentNode !== host) host.appendChild(box);
    return box;
  }
  if (!box.hasAttribute('popover')) box.setAttribute('popover', 'manual');
  // Volver a abrirlo lo pone encima del último diálogo abierto.
  if (box.matches(':popover-open')) box.hidePopover();
  box.showPopover();
  return box;
}

function hideIfEmpty(box) {
  if (!box.children.length && typeof box.hidePopover === 'function' && box.matches(':popover-open')) box.hidePopover();
}

/** kind: info | success | warning | error. opts: title, timeout (ms). */
export function toast(text, kind = 'info', opts = {}) {
  const box = toastBox();
  const close = h('button', { type: 'button', 'aria-label': 'Cerrar aviso' }, icon('x'));
  const t = h('div', { class: 'toast toast-' + kind, role: kind === 'error' ? 'alert' : 'status' },
    h('div', null, opts.title ? h('span', { class: 'toast-title', text: opts.title }) : null, h('span', { text })),
    close);
  const remove = () => {
    if (!t.isConnected) return;
    t.remove();
    hideIfEmpty(box);
  };
  close.addEventListener('click', remove);
  box.appendChild(t);
  setTimeout(remove, opts.timeout || (kind === 'error' || kind === 'warning' ? 8000 : 4500));
  return t;
}
