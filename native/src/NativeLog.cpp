#include "NativeLog.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "parakeet.h"
#include "whisper.h"

namespace earshot {
namespace {

thread_local std::string t_lastError;
bool g_echo = false;

void onLog(ggml_log_level level, const char* text, void* /*userData*/) {
    if (text == nullptr) return;
    if (level == GGML_LOG_LEVEL_ERROR || level == GGML_LOG_LEVEL_WARN) {
        std::string line(text);
        while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
        if (!line.empty()) t_lastError = line;
    }
    if (g_echo) fputs(text, stderr);
}

}  // namespace

void installLogCapture() {
    const char* echo = std::getenv("EARSHOT_NATIVE_LOG");
    g_echo = echo != nullptr && std::strcmp(echo, "1") == 0;
    whisper_log_set(onLog, nullptr);
    parakeet_log_set(onLog, nullptr);
}

std::string lastNativeError() { return t_lastError; }

void clearLastNativeError() { t_lastError.clear(); }

}  // namespace earshot
