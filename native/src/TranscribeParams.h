// Per-job decoding options, parsed from the JS object that src/engine/nativeTypes.ts describes.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

namespace earshot {

struct TranscribeParams {
    int threads = 4;
    std::string language;            // "" or "auto": detect on the first 30 s
    bool translate = false;
    std::string prompt;              // initial prompt text
    bool carryPrompt = false;        // prepend the prompt to every window
    bool conditionOnPreviousText = true;
    float temperature = 0.0f;
    float temperatureIncrement = 0.2f;  // 0 disables the temperature fallback
    int beamSize = 1;                // > 1: beam search
    int bestOf = 5;                  // candidates when sampling at temperature > 0
    float noSpeechThreshold = 0.6f;
    float logprobThreshold = -1.0f;
    float entropyThreshold = 2.4f;
    bool tokenTimestamps = false;
    bool dtw = false;                // DTW alignment pass (token t_dtw); needs a model loaded with alignment heads
    bool noTimestamps = false;
    bool singleSegment = false;
    bool suppressNonSpeechTokens = false;
    int maxTokensPerSegment = 0;
    int offsetMs = 0;
    int durationMs = 0;
    int audioCtx = 0;                // encoder positions (50 per second, at most 1500); 0: the full 30 s
    bool reuseEncoder = true;        // language detection's encoder pass also decodes the first window (patched whisper.cpp)
    std::vector<std::string> languageCandidates;  // detection picks the most probable of these (empty: any)
};

// Throws Napi::TypeError naming the offending field.
TranscribeParams parseTranscribeParams(const Napi::Object& options);

}  // namespace earshot
