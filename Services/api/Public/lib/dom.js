/* Mostrador — DOM sin innerHTML: todo texto que venga de datos entra con textContent / createElement. */

/**
 * Crea un elemento. props: class, text, dataset{}, on<evento>: función; el resto son atributos
 * (true = atributo vacío; null/undefined/false = se omite). No hay `style`: los estilos viven en styles.css.
 * Los hijos pueden ser nodos, textos, arreglos o null.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (key === 'class') el.className = v;
    else if (key === 'text') el.textContent = String(v);
    else if (key === 'dataset') {
      for (const [d, dv] of Object.entries(v)) if (dv !== null && dv !== undefined) el.dataset[d] = String(dv);
    } else if (key.startsWith('on')) el.addEventListener(key.slice(2).toLowerCase(), v);
    else el.setAttribute(key, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(parent, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) child.forEach((c) => append(parent, c));
  else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/** Muestra u oculta un aviso de formulario (un <p role="alert">). */
export function showText(el, text) {
  el.textContent = text || '';
  el.hidden = !text;
}

/** ¿Está el usuario leyendo el final de la lista? (para seguir pegado abajo cuando llega algo nuevo) */
export function nearBottom(box) { return box.scrollHeight - box.scrollTop - box.clientHeight < 150; }
