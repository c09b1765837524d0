/* Mostrador — el selector de emoji de un compositor (el chat del panel y el de invitados, seeds 001 y 003): un botón
 * con una carita junto al cuadro de texto abre una cuadrícula de emoji de uso común en soporte técnico. Elegir uno lo
 * escribe donde está el cursor (en lugar de lo seleccionado), avisa con un evento `input` como si se hubiera tecleado
 * (el borrador, «escribiendo…» y la altura del cuadro siguen igual) y deja el foco en el cuadro.
 * Teclado: Enter o espacio en el botón lo abre con el foco en la cuadrícula; flechas, Inicio y Fin se mueven entre
 * los emoji; Enter o espacio elige. Esc lo cierra sin cerrar el diálogo que lo contiene (el chat del panel se cierra
 * con Esc); un clic fuera o salir con Tab también lo cierran. El botón sigue al cuadro: deshabilitado con él. */
import { h } from './dom.js';
import { icon } from './icons.js';

/** Los emoji que se ofrecen, por filas de COLUMNS, con el nombre que dicen el lector de pantalla y el globo. */
export const EMOJIS = [
  ['😊', 'Sonrisa'], ['🙂', 'Cara amable'], ['😀', 'Cara feliz'], ['😅', 'Sonrisa nerviosa'],
  ['😉', 'Guiño'], ['🤔', 'Pensando'], ['😕', 'Confundido'], ['😔', 'Triste'],
  ['👍', 'Pulgar arriba'], ['👌', 'De acuerdo'], ['👋', 'Hola'], ['🙏', 'Gracias'],
  ['👏', 'Aplausos'], ['💪', 'Ánimo'], ['🤝', 'Trato hecho'], ['👀', 'Revisando'],
  ['✅', 'Listo'], ['❌', 'No'], ['⚠️', 'Advertencia'], ['❗', 'Importante'],
  ['❓', 'Pregunta'], ['ℹ️', 'Información'], ['🎉', 'Celebración'], ['⭐', 'Estrella'],
  ['🔧', 'Reparación'], ['🛠️', 'Herramientas'], ['💻', 'Laptop'], ['🖥️', 'Computadora'],
  ['🖨️', 'Impresora'], ['📱', 'Celular'], ['⌨️', 'Teclado'], ['🖱️', 'Mouse'],
  ['🔋', 'Batería'], ['🔌', 'Cargador'], ['📶', 'Señal'], ['💾', 'Respaldo'],
  ['📷', 'Foto'], ['📄', 'Documento'], ['⏰', 'Hora'], ['📅', 'Fecha'],
];
/** Emoji por fila: las flechas arriba y abajo saltan tantos (styles.css, .emoji-grid, usa el mismo número). */
const COLUMNS = 8;
const LABEL = 'Insertar emoji';

/**
 * Escribe `text` en `field` (textarea o input de texto) en lugar de lo seleccionado, con el cursor detrás, y avisa
 * con un evento `input`. false si no cabe en su maxlength (el campo no cambia).
 */
export function insertAtCaret(field, text) {
  const start = field.selectionStart ?? field.value.length;
  const end = field.selectionEnd ?? start;
  if (field.maxLength > 0 && field.value.length - (end - start) + text.length > field.maxLength) return false;
  field.setRangeText(text, start, end, 'end');
  field.dispatchEvent(new Event('input', { bubbles: true }));
  return true;
}

/** Pone el botón de emoji (y su cuadrícula, oculta) justo antes de `field`. */
export function attachEmojiPicker(field) {
  const popoverId = field.id + '-emoji';
  const button = h('button', {
    type: 'button', class: 'btn btn-ghost btn-emoji', 'aria-label': LABEL, title: LABEL,
    'aria-haspopup': 'dialog', 'aria-expanded': 'false', 'aria-controls': popoverId,
  }, icon('smile'));
  const options = EMOJIS.map(([emoji, name], i) => h('button', {
    type: 'button', class: 'emoji-option', tabindex: i === 0 ? '0' : '-1', 'aria-label': name, title: name,
    dataset: { emoji }, text: emoji,
  }));
  const popover = h('div', { id: popoverId, class: 'emoji-popover', role: 'dialog', 'aria-label': 'Emojis', hidden: true },
    h('div', { class: 'emoji-grid' }, options));
  const wrap = h('span', { class: 'emoji-picker' }, button, popover);
  field.before(wrap);
  /** El emoji que recibe el foco al abrir (el último en el que se estuvo). */
  let current = 0;

  const isOpen = () => !popover.hidden;
  const moveTo = (i) => {
    options[current].tabIndex = -1;
    current = Math.max(0, Math.min(options.length - 1, i));
    options[current].tabIndex = 0;
    options[current].focus();
  };
  const open = () => {
    popover.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    options[current].focus();
  };
  const close = (focusField) => {
    if (!isOpen()) return;
    popover.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    if (focusField) field.focus();
  };

  button.addEventListener('click', () => {
    if (isOpen()) close(true);
    else if (!field.disabled) open();
  });
  popover.addEventListener('click', (ev) => {
    const option = ev.target.closest('.emoji-option');
    if (!option) return;
    current = options.indexOf(option);
    insertAtCaret(field, option.dataset.emoji);
    close(true);
  });
  // Un clic en el fondo de la cuadrícula no le quita el foco (se cerraría sin querer).
  popover.addEventListener('mousedown', (ev) => { if (!ev.target.closest('.emoji-option')) ev.preventDefault(); });
  wrap.addEventListener('keydown', (ev) => {
    if (!isOpen() || ev.isComposing) return;
    if (ev.key === 'Escape') {
      // Solo el selector: el chat del panel (un <dialog>) no recibe el Esc.
      ev.preventDefault();
      ev.stopPropagation();
      close(true);
      return;
    }
    if (!popover.contains(ev.target)) return;
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS }[ev.key];
    if (step) moveTo(current + step);
    else if (ev.key === 'Home') moveTo(0);
    else if (ev.key === 'End') moveTo(options.length - 1);
    else return;
    ev.preventDefault();
  });
  // Fuera del selector, un clic o el foco (Tab) lo cierran; el foco queda donde el usuario lo puso.
  document.addEventListener('pointerdown', (ev) => { if (isOpen() && !wrap.contains(ev.target)) close(false); }, true);
  document.addEventListener('focusin', (ev) => { if (isOpen() && !wrap.contains(ev.target)) close(false); });
  // El chat del panel se cierra con el selector abierto (sesión expirada, otro ticket): al volver, cerrado.
  field.closest('dialog')?.addEventListener('close', () => close(false));
  // Ticket cerrado, solo plantillas, chat de invitado cerrado: sin cuadro, sin emoji.
  const follow = () => {
    button.disabled = field.disabled;
    if (field.disabled) close(false);
  };
  new MutationObserver(follow).observe(field, { attributes: true, attributeFilter: ['disabled'] });
  follow();
}
