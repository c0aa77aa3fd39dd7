// Which screen is showing; `body[data-screen]` also lets tests and styles follow along.

/** querySelector shorthand that fails loudly on a typo. */
export function $(selector) {
  const el = document.querySelector(selector);
  if (!el) throw new Error(`missing element ${selector}`);
  return el;
}

/** Show one screen and hide the others. */
export function show(name) {
  for (const section of document.querySelectorAll(".screen")) {
    section.hidden = section.id !== `screen-${name}`;
  }
  document.body.dataset.screen = name;
}

/** The screen showing now. */
export function current() {
  return document.body.dataset.screen;
}
