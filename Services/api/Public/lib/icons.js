/* Mostrador — iconos SVG en línea (trazos de 24×24, color del texto). Sustituyen a los emoji de la interfaz,
 * que sin una fuente de emoji se ven como cuadros vacíos. El texto que escriben las personas no se toca. */

const NS = 'http://www.w3.org/2000/svg';

/** Cada icono: lista de [etiqueta, atributos]. */
const SHAPES = {
  x: [['path', { d: 'M18 6 6 18M6 6l12 12' }]],
  check: [['path', { d: 'M20 6 9 17l-5-5' }]],
  'check-double': [['path', { d: 'M2 12.5l5 5L17.5 7' }], ['path', { d: 'M11.5 16.5l1 1L23 7' }]],
  clock: [['circle', { cx: 12, cy: 12, r: 9 }], ['path', { d: 'M12 7v5l3 2' }]],
  plus: [['path', { d: 'M12 5v14M5 12h14' }]],
  calendar: [['rect', { x: 3, y: 4, width: 18, height: 18, rx: 2 }], ['path', { d: 'M16 2v4M8 2v4M3 10h18' }]],
  timer: [['circle', { cx: 12, cy: 13, r: 8 }], ['path', { d: 'M12 9v4l2 2M10 2h4' }]],
  refresh: [['path', { d: 'M21 4v6h-6' }], ['path', { d: 'M20.5 15a9 9 0 1 1-2.1-9.4L21 10' }]],
  pause: [['rect', { x: 6, y: 5, width: 4, height: 14, rx: 1 }], ['rect', { x: 14, y: 5, width: 4, height: 14, rx: 1 }]],
  'x-circle': [['circle', { cx: 12, cy: 12, r: 9 }], ['path', { d: 'M15 9l-6 6M9 9l6 6' }]],
  alert: [['path', { d: 'M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z' }], ['path', { d: 'M12 9v4M12 17h.01' }]],
  info: [['circle', { cx: 12, cy: 12, r: 9 }], ['path', { d: 'M12 16v-4M12 8h.01' }]],
  chat: [['path', { d: 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z' }]],
  history: [['path', { d: 'M16 4h2a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2h2' }], ['rect', { x: 8, y: 2, width: 8, height: 4, rx: 1 }], ['path', { d: 'M8 12h8M8 16h5' }]],
  notify: [['path', { d: 'M22 11.1V12a10 10 0 1 1-5.9-9.1' }], ['path', { d: 'M22 4 12 14l-3-3' }]],
  camera: [['path', { d: 'M23 19a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h4l2-3h6l2 3h4a2 2 0 0 1 2 2z' }], ['circle', { cx: 12, cy: 13, r: 4 }]],
  take: [['path', { d: 'M16 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2' }], ['circle', { cx: 8.5, cy: 7, r: 4 }], ['path', { d: 'M17 11l2 2 4-4' }]],
  transfer: [['path', { d: 'M15 14l5-5-5-5' }], ['path', { d: 'M4 20v-7a4 4 0 0 1 4-4h12' }]],
  lock: [['rect', { x: 3, y: 11, width: 18, height: 11, rx: 2 }], ['path', { d: 'M7 11V7a5 5 0 0 1 10 0v4' }]],
  send: [['path', { d: 'M22 2 11 13' }], ['path', { d: 'M22 2 15 22l-4-9-9-4z' }]],
  download: [['path', { d: 'M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4' }], ['path', { d: 'M7 10l5 5 5-5M12 15V3' }]],
  bell: [['path', { d: 'M18 8A6 6 0 0 0 6 8c0 7-3 9-3 9h18s-3-2-3-9' }], ['path', { d: 'M13.7 21a2 2 0 0 1-3.4 0' }]],
  tool: [['path', { d: 'M14.7 6.3a1 1 0 0 0 0 1.4l1.6 1.6a1 1 0 0 0 1.4 0l3.8-3.8a6 6 0 0 1-7.9 7.9l-6.9 6.9a2.1 2.1 0 0 1-3-3l6.9-6.9a6 6 0 0 1 7.9-7.9z' }]],
  ticket: [['path', { d: 'M2 9a3 3 0 0 1 0 6v2a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2v-2a3 3 0 0 1 0-6V7a2 2 0 0 0-2-2H4a2 2 0 0 0-2 2z' }], ['path', { d: 'M13 5v2M13 11v2M13 17v2' }]],
  chart: [['path', { d: 'M18 20V10M12 20V4M6 20v-6' }]],
  user: [['path', { d: 'M20 21v-2a4 4 0 0 0-4-4H8a4 4 0 0 0-4 4v2' }], ['circle', { cx: 12, cy: 7, r: 4 }]],
  headset: [['path', { d: 'M3 18v-6a9 9 0 0 1 18 0v6' }], ['path', { d: 'M21 19a2 2 0 0 1-2 2h-1a2 2 0 0 1-2-2v-3a2 2 0 0 1 2-2h3zM3 19a2 2 0 0 0 2 2h1a2 2 0 0 0 2-2v-3a2 2 0 0 0-2-2H3z' }]],
  bot: [['rect', { x: 4, y: 8, width: 16, height: 12, rx: 2 }], ['path', { d: 'M12 8V4H8M2 14h2M20 14h2M9 13v2M15 13v2' }]],
  laptop: [['rect', { x: 4, y: 4, width: 16, height: 12, rx: 2 }], ['path', { d: 'M2 20h20' }]],
  file: [['path', { d: 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z' }], ['path', { d: 'M14 2v6h6M16 13H8M16 17H8' }]],
  paperclip: [['path', { d: 'M21.4 11.1l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5' }]],
  image: [['rect', { x: 3, y: 3, width: 18, height: 18, rx: 2 }], ['circle', { cx: 8.5, cy: 8.5, r: 1.5 }], ['path', { d: 'M21 15l-5-5L5 21' }]],
  mail: [['rect', { x: 2, y: 4, width: 20, height: 16, rx: 2 }], ['path', { d: 'M22 6l-10 7L2 6' }]],
  pencil: [['path', { d: 'M17 3a2.8 2.8 0 1 1 4 4L7.5 20.5 2 22l1.5-5.5z' }]],
  reply: [['path', { d: 'M9 17l-5-5 5-5' }], ['path', { d: 'M20 18v-2a4 4 0 0 0-4-4H4' }]],
  template: [['path', { d: 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z' }], ['path', { d: 'M7 8h10M7 12h6' }]],
  'user-plus': [['path', { d: 'M16 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2' }], ['circle', { cx: 8.5, cy: 7, r: 4 }], ['path', { d: 'M20 8v6M23 11h-6' }]],
  'user-minus': [['path', { d: 'M16 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2' }], ['circle', { cx: 8.5, cy: 7, r: 4 }], ['path', { d: 'M23 11h-6' }]],
  'log-out': [['path', { d: 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4' }], ['path', { d: 'M16 17l5-5-5-5M21 12H9' }]],
  tag: [['path', { d: 'M20.6 13.4l-7.2 7.2a2 2 0 0 1-2.8 0L2 12V2h10l8.6 8.6a2 2 0 0 1 0 2.8z' }], ['path', { d: 'M7 7h.01' }]],
  smile: [['circle', { cx: 12, cy: 12, r: 9 }], ['path', { d: 'M8 14s1.5 2 4 2 4-2 4-2' }], ['path', { d: 'M9 9h.01M15 9h.01' }]],
  star: [['path', { d: 'M12 2.5l2.9 5.9 6.6 1-4.8 4.6 1.1 6.5L12 17.4l-5.8 3.1 1.1-6.5-4.8-4.6 6.6-1z' }]],
  shield: [['path', { d: 'M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z' }], ['path', { d: 'M9 12l2 2 4-4' }]],
  webhook: [['path', { d: 'M18 16.98h-5.99c-1.1 0-1.95.94-2.48 1.9A4 4 0 0 1 2 17c.01-.7.2-1.4.57-2' }], ['path', { d: 'm6 17 3.13-5.78c.53-.97.1-2.18-.5-3.1a4 4 0 1 1 6.89-4.06' }], ['path', { d: 'm12 6 3.13 5.73C15.66 12.7 16.9 13 18 13a4 4 0 0 1 0 8' }]],
  key: [['circle', { cx: 7.5, cy: 15.5, r: 5.5 }], ['path', { d: 'M11.4 11.6 21 2M18 5l3 3M15 8l2 2' }]],
  copy: [['rect', { x: 9, y: 9, width: 13, height: 13, rx: 2 }], ['path', { d: 'M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1' }]],
  users: [['path', { d: 'M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2' }], ['circle', { cx: 9, cy: 7, r: 4 }], ['path', { d: 'M23 21v-2a4 4 0 0 0-3-3.87M16 3.13a4 4 0 0 1 0 7.75' }]],
};

/** Un <svg> decorativo (aria-hidden): el texto o el aria-label del control dicen lo que significa. */
export function icon(name) {
  const svg = document.createElementNS(NS, 'svg');
  const attrs = {
    class: 'icon', viewBox: '0 0 24 24', width: 16, height: 16, fill: 'none', stroke: 'currentColor', 'stroke-width': 2,
    'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': 'true', focusable: 'false',
  };
  for (const [k, v] of Object.entries(attrs)) svg.setAttribute(k, String(v));
  svg.dataset.icon = name;
  for (const [tag, shapeAttrs] of SHAPES[name] || SHAPES.info) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(shapeAttrs)) el.setAttribute(k, String(v));
    svg.appendChild(el);
  }
  return svg;
}

/** Icono seguido de un texto, como contenido de un botón o un título. */
export function withIcon(name, text) {
  return [icon(name), document.createTextNode(' ' + text)];
}

/** Pone icono y texto en un elemento (sustituye lo que tuviera). */
export function setLabel(el, name, text) {
  el.replaceChildren(...withIcon(name, text));
  return el;
}

/** Cambia cada <span data-icon="…"> del HTML estático por su <svg>. */
export function placeIcons(root = document) {
  for (const slot of root.querySelectorAll('span[data-icon]')) slot.replaceWith(icon(slot.dataset.icon));
}
