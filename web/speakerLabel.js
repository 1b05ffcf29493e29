// A speaker's name on a turn of the transcript, renamed in place: a click (or Enter/Space) on the name opens a text
// field; Enter or leaving the field keeps the new name, Escape the old one. Every turn of that speaker shows the
// new name (the transcript listens to SpeakerNames).
import { SPEAKER_NAME_MAX } from "./speakers.js";
import { h } from "./ui.js";

/**
 * The button that shows `label`'s name and renames the speaker.
 *
 * @param {string} label the server's label for the speaker
 * @param {import("./speakers.js").SpeakerNames} names
 * @param {string} hintId the element that says a click renames
 */
export function speakerLabel(label, names, hintId) {
  const text = h("span", { className: "speaker-text" }, names.nameOf(label));
  const button = h(
    "button",
    { type: "button", className: "speaker-name", title: "Rename this speaker", "aria-describedby": hintId, dataset: { speaker: label } },
    text,
    h("span", { className: "speaker-edit", "aria-hidden": "true" }, "✎"),
  );
  button.addEventListener("click", () => editName(button, label, names));
  return button;
}

/** Shows `name` on a button made by speakerLabel. */
export function showSpeakerName(button, name) {
  const text = button.querySelector(".speaker-text");
  if (text) text.textContent = name;
}

function editName(button, label, names) {
  const input = h("input", {
    type: "text",
    className: "speaker-input",
    maxlength: SPEAKER_NAME_MAX,
    autocomplete: "off",
    spellcheck: "false",
    "aria-label": `Name of speaker ${label}`,
    "aria-describedby": button.getAttribute("aria-describedby"),
  });
  input.value = names.nameOf(label);
  let done = false;
  /** Puts the button back (renamed when `keep`); the focus goes back to it after a key, stays where it went after a click away. */
  const finish = (keep, refocus) => {
    if (done) return;
    done = true;
    if (keep) names.rename(label, input.value);
    input.replaceWith(button);
    if (refocus) button.focus();
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      finish(true, true);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      finish(false, true);
    }
  });
  input.addEventListener("blur", () => finish(true, false));
  button.replaceWith(input);
  input.focus();
  input.select();
}
