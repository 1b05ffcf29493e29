// One transcription running on its own native thread against one whisper_state.
// Segments and progress are posted to JS as they happen (NativeJob.h); the promise settles on the JS thread once the
// thread has finished with the state.
#pragma once
#include <napi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ModelHandle.h"
#include "NativeJob.h"
#include "TranscribeParams.h"

namespace earshot {

struct TokenRecord {
    int id = 0;
    std::string bytes;   // raw token bytes (may be a partial UTF-8 sequence)
    float p = 0, plog = 0, pt = 0, ptsum = 0;
    int64_t t0 = -1, t1 = -1, tDtw = -1;  // centiseconds
};

struct SegmentRecord {
    int64_t t0 = 0, t1 = 0;  // centiseconds
    std::string text;
    float noSpeechProb = 0;
    float temperature = 0;
    bool speakerTurnNext = false;
    std::vector<TokenRecord> tokens;
};

struct JobOutcome {
    std::vector<SegmentRecord> segments;
    std::string language;
    float languageProbability = -1;  // < 0: not detected (given by the caller or English-only model)
    double detectMs = 0, decodeMs = 0;
    int windows = 0, fallbacks = 0;
    int encoderPasses = 0;  // encoder graphs actually computed (detection included)
    bool aborted = false;
    std::string errorCode, errorMessage;
};

// What the job thread hands to JS.
struct JobEvent {
    enum class Kind { Segments, Progress, Language, Done } kind;
    std::vector<SegmentRecord> segments;
    int progress = 0;
    std::unique_ptr<JobOutcome> outcome;
    std::string language;
    float languageProbability = -1;
};

class TranscribeJob : public NativeJob<TranscribeJob, JobEvent> {
public:
    // Must be called on the JS thread. `onDone` runs on the JS thread before the promise settles.
    static Napi::Promise start(Napi::Env env, ModelHandlePtr model, whisper_state* state, std::vector<float> pcm,
                               TranscribeParams params, Napi::Value onSegments, Napi::Value onProgress,
                               Napi::Value onLanguage, std::function<void()> onDone, TranscribeJob** handleOut);

private:
    friend class NativeJob<TranscribeJob, JobEvent>;
    TranscribeJob() = default;
    void run();
    void handle(Napi::Env env, const JobEvent& event);
    void onNewSegments(int nNew);
    SegmentRecord readSegment(int index) const;
    float currentTemperature() const;

    // whisper.cpp callbacks (native thread)
    static void whisperNewSegment(whisper_context*, whisper_state*, int nNew, void* user);
    static void whisperProgress(whisper_context*, whisper_state*, int progress, void* user);
    void resetAudioContext(whisper_context* ctx);
    static bool whisperEncoderBegin(whisper_context*, whisper_state*, void* user);
    static bool whisperAbort(void* user);
    static void whisperLogitsFilter(whisper_context*, whisper_state*, const whisper_token_data*, int nTokens, float*, void* user);

    ModelHandlePtr model_;
    whisper_state* state_ = nullptr;
    std::vector<float> pcm_;
    TranscribeParams params_;
    // Set in start() before the thread starts, read-only after: whether JS listens for segments / progress.
    bool streamSegments_ = false, reportProgress_ = false, reportLanguage_ = false;

    // JS-thread only
    Napi::FunctionReference onSegments_, onProgress_, onLanguage_;

    // native-thread only
    std::vector<float> segmentTemperatures_;
    int attempt_ = -1;          // temperature attempt within the current window
    int lastTokenCount_ = -1;   // token count seen by the previous logits callback
    int lastProgress_ = -1;
    int windows_ = 0, fallbacks_ = 0;
};

}  // namespace earshot
