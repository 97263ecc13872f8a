/*
 * The detail fields of a contact, built only when they are needed: when a contact's row is
 * opened, or a new contact is added. Each field has a slot for its problem that always takes
 * its line, so that a problem appearing never moves the fields around it.
 */
import { el } from "./dom.js";

/**
 * The fields as a grid: `defs` are the page's field definitions (name, label, type,
 * mandatory, maxlength), `prefix` makes their ids unique, `valueOf(name)` gives each value.
 */
export function buildFields(defs, salutations, prefix, valueOf) {
  const grid = el("div", { class: "details-grid" });
  defs.forEach((def) => {
    const id = prefix + "-" + def.name;
    const value = valueOf(def.name) || "";
    const label = el("label", { class: "label", for: id, text: def.label });
    if (def.mandatory) {
      label.append(" ", el("span", { class: "req", text: "(required)" }));
    }
    let input;
    if (def.name === "salutation") {
      input = el("select", { class: "input", id: id, "data-field": def.name },
        el("option", { value: "", text: "Choose…" }));
      const choices = salutations.includes(value) || !value ? salutations : [...salutations, value];
      choices.forEach((choice) => input.append(el("option", { value: choice, text: choice })));
      input.value = value;
    } else {
      input = el("input", {
        class: "input", id: id, type: def.type, "data-field": def.name,
        maxlength: def.maxlength, autocomplete: "off", spellcheck: "false",
      });
      input.value = value;
    }
    const error = el("p", { class: "field-error", id: id + "-error" });
    grid.append(el("div", { class: "field" }, label, input, error));
  });
  return grid;
}

/** Show `message` (or nothing) at a field, in its slot. */
export function markField(input, message) {
  const slot = document.getElementById(input.id + "-error");
  slot.textContent = message || "";
  slot.title = message || "";
  if (message) {
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", slot.id);
  } else {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
  input.closest(".field").classList.toggle("has-error", Boolean(message));
}
