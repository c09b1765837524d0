/* Mostrador (panel) — diálogos <dialog>: abrir recordando quién los abrió, cerrar con el fondo o [data-close-dialog]. */
import { $$ } from '../lib/dom.js';

const returnFocus = new WeakMap();

export function openDialog(dlg, opener) {
  if (opener) returnFocus.set(dlg, opener);
  if (!dlg.open) dlg.showModal();
}

export function closeAllDialogs() { $$('dialog[open]').forEach((d) => d.close()); }

function onClosed(dlg) {
  if (dlg.open) return; // se volvió a abrir antes de que llegara el evento
  const back = returnFocus.get(dlg);
  returnFocus.delete(dlg);
  if (back && back.isConnected && !$$('dialog[open]').length) back.focus();
}

export function setupDialogs() {
  for (const dlg of $$('dialog')) {
    dlg.addEventListener('close', () => onClosed(dlg));
    // Clic en el fondo cierra el diálogo.
    dlg.addEventListener('mousedown', (ev) => {
      if (ev.target !== dlg) return;
      const r = dlg.getBoundingClientRect();
      const inside = ev.clientX >= r.left && ev.clientX <= r.right && ev.clientY >= r.top && ev.clientY <= r.bottom;
      if (!inside) dlg.close();
    });
  }
  document.addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-close-dialog]');
    if (b) b.closest('dialog')?.close();
  });
}
