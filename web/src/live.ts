/// <reference lib="dom" />
// Re-rendering from the store: a part of a page is rebuilt on each change, and the
// keyboard focus, found again by its data-key, survives it.
import { h } from "./dom.ts";
import { store } from "./store.ts";
import { errorText } from "./api.ts";

/**
 * Renders `draw()` into `root` now and after every store change; returns the stop, which
 * also carries `paint` for a change the store does not see (a filter typed).
 */
export function live(
  root: HTMLElement,
  draw: () => Node | Node[],
  opts: { everySecond?: boolean } = {},
): (() => void) & { paint(): void } {
  const paint = () => {
    const key = (document.activeElement as HTMLElement | null)?.dataset?.key;
    const out = draw();
    root.replaceChildren(...(Array.isArray(out) ? out : [out]));
    if (key) root.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`)?.focus();
  };
  paint();
  const unsubscribe = store.subscribe(paint);
  // Uptimes count on between changes.
  const timer = opts.everySecond ? setInterval(paint, 1000) : undefined;
  const stop = () => {
    unsubscribe();
    clearInterval(timer);
  };
  return Object.assign(stop, { paint });
}

/** An alert line that shows a call's failure (and clears on its next success). */
export function alertLine(): { el: HTMLElement; run(what: () => Promise<unknown>): Promise<void> } {
  const el = h("p", { class: "alert", role: "alert" });
  return {
    el,
    async run(what) {
      el.textContent = "";
      try {
        await what();
      } catch (e) {
        el.textContent = errorText(e);
      }
    },
  };
}
