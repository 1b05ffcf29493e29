// The languages whisper knows (ISO-639-1 codes, plus "haw" and "yue"; whisper writes Javanese "jw"),
// named in the reader's own language by Intl.DisplayNames. The codes come from the server's own
// table (/app/language-codes.js is generated from it).
import { CODES } from "./language-codes.js";

/** [{code, name}] sorted by name. */
function languageOptions(locale = navigator.language || "en") {
  let names;
  try {
    names = new Intl.DisplayNames([locale, "en"], { type: "language" });
  } catch {
    names = null;
  }
  const nameOf = (code) => {
    try {
      const name = names?.of(code === "jw" ? "jv" : code);
      return name && name !== code ? name : code;
    } catch {
      return code;
    }
  };
  const options = CODES.map((code) => ({ code, name: nameOf(code) }));
  options.sort((a, b) => a.name.localeCompare(b.name, locale));
  return options;
}

/** Adds the languages to each <select> after its first ("Detect automatically") option; sorts them once. */
export function fillLanguageSelects(selects, locale) {
  const options = languageOptions(locale);
  for (const select of selects) {
    for (const { code, name } of options) {
      const option = document.createElement("option");
      option.value = code;
      option.textContent = name === code ? code : `${name[0].toUpperCase()}${name.slice(1)}`;
      select.append(option);
    }
  }
}
