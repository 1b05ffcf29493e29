import { describe, expect, it } from "vitest";
import { LANGUAGES, TO_LANGUAGE_CODE, languageName, normalizeLanguage } from "../../src/transcription/languages.js";

describe("languages", () => {
  it("has whisper's 100 languages, cantonese included", () => {
    expect(Object.keys(LANGUAGES)).toHaveLength(100);
    expect(LANGUAGES.yue).toBe("cantonese");
    expect(LANGUAGES.haw).toBe("hawaiian");
    expect(Object.keys(LANGUAGES)[0]).toBe("en");
  });

  it("maps codes to OpenAI's lower-case English names", () => {
    expect(languageName("en")).toBe("english");
    expect(languageName("ZH")).toBe("chinese");
    expect(languageName("ht")).toBe("haitian creole");
    expect(languageName("xx")).toBeUndefined();
    expect(languageName("constructor")).toBeUndefined();
  });

  it("normalizes codes, names and aliases case-insensitively", () => {
    expect(normalizeLanguage("en")).toBe("en");
    expect(normalizeLanguage("EN")).toBe("en");
    expect(normalizeLanguage("English")).toBe("en");
    expect(normalizeLanguage(" Haitian Creole ")).toBe("ht");
    expect(normalizeLanguage("mandarin")).toBe("zh");
    expect(normalizeLanguage("Castilian")).toBe("es");
    expect(normalizeLanguage("cantonese")).toBe("yue");
    expect(normalizeLanguage("klingon")).toBeUndefined();
    expect(normalizeLanguage("")).toBeUndefined();
    expect(normalizeLanguage("toString")).toBeUndefined();
  });

  it("round-trips every code through its name", () => {
    for (const [code, name] of Object.entries(LANGUAGES)) {
      expect(TO_LANGUAGE_CODE[name]).toBe(code);
      expect(normalizeLanguage(name.toUpperCase())).toBe(code);
    }
  });
});
