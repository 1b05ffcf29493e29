// The languages whisper knows (ISO-639-1 codes, plus "haw" and "yue"; whisper writes Javanese "jw"),
// named in the reader's own language by Intl.DisplayNames.
const CODES = [
  "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it", "id", "hi", "fi", "vi",
  "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk",
  "te", "fa", "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw",
  "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
  "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue",
];

/** [{code, name}] sorted by name. */
export function languageOptions(locale = navigator.language || "en") {
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

/** Adds the languages to a <select> after its first ("Detect automatically") option. */
export function fillLanguageSelect(select, locale) {
  for (const { code, name } of languageOptions(locale)) {
    const option = document.createElement("option");
    option.value = code;
    option.textContent = name === code ? code : `${name[0].toUpperCase()}${name.slice(1)}`;
    select.append(option);
  }
}
