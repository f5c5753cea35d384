/// <reference lib="dom" />
// Small forms for the pages' actions: labelled inputs, one submit button, and the
// values handed over as strings. The daemon validates; its error names the field.
import { h } from "./dom.ts";

export interface Field {
  name: string;
  label: string;
  type?: string;
  placeholder?: string;
  required?: boolean;
  options?: Array<[value: string, label: string]>;
}

export function actionForm(
  fields: Field[],
  submit: string,
  onSubmit: (values: Record<string, string>, form: HTMLFormElement) => Promise<void>,
): HTMLFormElement {
  const inputs = fields.map((f) => {
    const input = f.options
      ? h("select", { name: f.name }, f.options.map(([v, l]) => h("option", { value: v }, l)))
      : h("input", {
        name: f.name,
        type: f.type ?? "text",
        placeholder: f.placeholder,
        required: f.required,
      });
    return h("label", {}, f.label, input);
  });
  const button = h("button", { type: "submit" }, submit);
  const form = h("form", { class: "action" }, inputs, button);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values: Record<string, string> = {};
    for (const [k, v] of new FormData(form)) values[k] = String(v).trim();
    button.disabled = true;
    try {
      await onSubmit(values, form);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** A button that asks first, then runs. */
export function confirmButton(
  label: string,
  question: string,
  run: () => void,
  key?: string,
): HTMLButtonElement {
  return h("button", {
    "data-key": key,
    onclick: () => {
      if (confirm(question)) run();
    },
  }, label);
}

/** A whole number typed into a box, or an error that names the box. */
export function wholeNumber(field: string, text: string): bigint {
  const t = text.trim();
  if (!/^\d{1,15}$/.test(t)) {
    throw new Error(`${field}: must be a whole number (got "${t.slice(0, 20)}")`);
  }
  return BigInt(t);
}
