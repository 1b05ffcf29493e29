// Starts the page: tabs, the server's models, the API key when the server asks for one, the
// options (remembered in this browser), and the two panels.
import { getApiKey, listModels, setApiKey } from "./api.js";
import { fillLanguageSelects } from "./languages.js";
import { LivePanel } from "./live.js";
import { pickRecordingType } from "./recorder.js";
import { TranscribePanel } from "./transcribe.js";
import { byId } from "./ui.js";

const OPTIONS_STORAGE = "earshot.options";
/** What the key form says when an upload or the live captions got a 401. */
const KEY_ASKED = "The server asked for an API key.";

function loadStoredOptions() {
  try {
    return JSON.parse(localStorage.getItem(OPTIONS_STORAGE) ?? "{}") ?? {};
  } catch {
    return {};
  }
}

function storeOptions(options) {
  try {
    localStorage.setItem(OPTIONS_STORAGE, JSON.stringify(options));
  } catch {
    // private mode: not remembered
  }
}

/** ARIA tabs: click or arrow keys (Home/End too) switch panels. */
function setUpTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab, focus) => {
    for (const each of tabs) {
      const selected = each === tab;
      each.setAttribute("aria-selected", String(selected));
      each.tabIndex = selected ? 0 : -1;
      byId(each.getAttribute("aria-controls")).hidden = !selected;
    }
    if (focus) tab.focus();
    history.replaceState(null, "", tab.id === "tab-live" ? "#live" : location.pathname + location.search);
  };
  for (const tab of tabs) {
    tab.addEventListener("click", () => select(tab, false));
    tab.addEventListener("keydown", (event) => {
      const index = tabs.indexOf(tab);
      const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      select(tabs[(next + tabs.length) % tabs.length], true);
    });
  }
  if (location.hash === "#live") select(byId("tab-live"), false);
}

function start() {
  const status = byId("server-status");
  const modelSelect = byId("model-select");
  const languageSelect = byId("language-select");
  const liveLanguage = byId("live-language");
  const translate = byId("translate-check");
  const speakers = byId("speakers-check");
  const prompt = byId("prompt-input");
  const authPanel = byId("auth-panel");
  const keyInput = byId("api-key-input");
  const authError = byId("auth-error");
  const keyButton = byId("key-button");

  setUpTabs();
  fillLanguageSelects([languageSelect, liveLanguage]);

  const stored = loadStoredOptions();
  if (typeof stored.language === "string") languageSelect.value = stored.language;
  if (typeof stored.liveLanguage === "string") liveLanguage.value = stored.liveLanguage;
  translate.checked = stored.translate === true;
  speakers.checked = stored.speakers === true;
  const syncTranslate = () => {
    // OpenAI's translations endpoint takes no language, gives no word timestamps and has no diarized_json.
    languageSelect.disabled = translate.checked;
    speakers.disabled = translate.checked;
  };
  syncTranslate();
  const remember = () =>
    storeOptions({
      model: modelSelect.value,
      language: languageSelect.value,
      liveLanguage: liveLanguage.value,
      translate: translate.checked,
      speakers: speakers.checked,
    });
  for (const control of [modelSelect, languageSelect, liveLanguage, translate, speakers]) control.addEventListener("change", remember);
  translate.addEventListener("change", syncTranslate);

  const setStatus = (state, text) => {
    status.dataset.state = state;
    status.textContent = text;
  };

  const showAuth = (message = "") => {
    authPanel.hidden = false;
    keyButton.hidden = false;
    authError.textContent = message;
    keyInput.focus();
  };

  const askForKey = () => showAuth(KEY_ASKED);

  const loadModels = async () => {
    setStatus("pending", "Connecting to the server…");
    try {
      const models = await listModels();
      const previous = modelSelect.value;
      modelSelect.replaceChildren(...models.map((id) => new Option(id, id)));
      const wanted = [stored.model, previous].find((id) => id && models.includes(id));
      if (wanted) modelSelect.value = wanted;
      setStatus("ready", `Ready · ${models[0] ?? "no model"}`);
      authPanel.hidden = true;
      return true;
    } catch (error) {
      if (error.status === 401) {
        setStatus("error", "API key needed");
        showAuth(getApiKey() ? "That key was not accepted. Check it and try again." : "");
      } else if (error.status === 0) {
        setStatus("error", "Server unreachable");
      } else {
        setStatus("error", `Server error (${error.status})`);
      }
      return false;
    }
  };

  authPanel.addEventListener("submit", async (event) => {
    event.preventDefault();
    setApiKey(keyInput.value.trim());
    keyInput.value = "";
    if (await loadModels()) status.textContent += " · key accepted";
  });
  keyButton.addEventListener("click", () => (authPanel.hidden ? showAuth() : (authPanel.hidden = true)));

  new TranscribePanel({
    options: () => ({
      model: modelSelect.value || "whisper-1",
      language: languageSelect.value, // uploadAudio leaves it out when translating
      translate: translate.checked,
      speakers: speakers.checked, // uploadAudio leaves it out when translating
      prompt: prompt.value.trim(),
    }),
    onAuthNeeded: askForKey,
    onServerState: (reachable) => {
      if (!reachable) setStatus("error", "Server unreachable");
      else if (status.dataset.state === "error") loadModels();
    },
  });
  new LivePanel({ model: () => modelSelect.value || "whisper-1", onAuthNeeded: askForKey });

  const type = pickRecordingType();
  if (type) byId("record-hint").textContent = `Records ${type.replace(/;.*/, "")} from your microphone; it is transcribed when you stop.`;
  if (getApiKey()) keyButton.hidden = false;
  loadModels();
}

start();
