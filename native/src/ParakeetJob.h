// One Parakeet transcription running on its own native thread against one parakeet_state (parakeet_full_with_state:
// mel, encoder, greedy TDT decoding). The promise settles on the JS thread once the thread is done with the state.
#pragma once
#include <napi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "NativeJob.h"
#include "ParakeetModel.h"

namespace earshot {

struct ParakeetTokenRecord {
    int id = 0;
    std::string piece;  // the SentencePiece piece ("▁word", "s", ...)
    float p = 0;        // probability among the vocabulary and blank
    float plog = 0;     // parakeet_token_data.plog: log-probability over all of the joint's outputs (pieces, blank, durations)
    int64_t t0 = 0, t1 = 0;  // centiseconds (encoder frame × subsampling factor, 10 ms each)
    int frameIndex = 0, duration = 0;
    bool wordStart = false;
};

struct ParakeetOutcome {
    std::vector<ParakeetTokenRecord> tokens;
    std::string text;
    double decodeMs = 0;
    bool aborted = false;
    std::string errorCode, errorMessage;
};

// What the job thread hands to JS.
struct ParakeetJobEvent {
    enum class Kind { Progress, Done } kind;
    int progress = 0;
    std::unique_ptr<ParakeetOutcome> outcome;
};

class ParakeetJob : public NativeJob<ParakeetJob, ParakeetJobEvent> {
public:
    // Must be called on the JS thread. `onDone` runs on the JS thread before the promise settles.
    static Napi::Promise start(Napi::Env env, ParakeetHandlePtr model, parakeet_state* state, std::vector<float> pcm, int threads,
                               Napi::Value onProgress, std::function<void()> onDone, ParakeetJob** handleOut);

private:
    friend class NativeJob<ParakeetJob, ParakeetJobEvent>;
    ParakeetJob() = default;
    void run();
    void handle(Napi::Env env, const ParakeetJobEvent& event);
    static void parakeetProgress(parakeet_context*, parakeet_state*, int progress, void* user);
    static bool parakeetEncoderBegin(parakeet_context*, parakeet_state*, void* user);
    static bool parakeetAbort(void* user);

    ParakeetHandlePtr model_;
    parakeet_state* state_ = nullptr;
    std::vector<float> pcm_;
    int threads_ = 4;
    bool reportProgress_ = false;  // set before the thread starts

    Napi::FunctionReference onProgress_;  // JS thread only
};

}  // namespace earshot
