// One Parakeet transcription running on its own native thread against one parakeet_state (parakeet_full_with_state:
// mel, encoder, greedy TDT decoding). The promise settles on the JS thread once the thread is done with the state.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

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

struct ParakeetJobEvent;

class ParakeetJob {
public:
    // Must be called on the JS thread. `onDone` runs on the JS thread after the promise settles.
    static Napi::Promise start(Napi::Env env, ParakeetHandlePtr model, parakeet_state* state, std::vector<float> pcm, int threads,
                               Napi::Value onProgress, std::function<void()> onDone, ParakeetJob** handleOut);

    void abort() { aborted_.store(true); }

private:
    ParakeetJob() = default;
    void run();
    void post(ParakeetJobEvent* event);

    static void callJs(Napi::Env env, Napi::Function unused, ParakeetJob* job, ParakeetJobEvent* event);
    static void finalize(Napi::Env env, void* data, ParakeetJob* job);
    static void parakeetProgress(parakeet_context*, parakeet_state*, int progress, void* user);
    static bool parakeetEncoderBegin(parakeet_context*, parakeet_state*, void* user);
    static bool parakeetAbort(void* user);

    using Tsfn = Napi::TypedThreadSafeFunction<ParakeetJob, ParakeetJobEvent, &ParakeetJob::callJs>;

    ParakeetHandlePtr model_;
    parakeet_state* state_ = nullptr;
    std::vector<float> pcm_;
    int threads_ = 4;
    Tsfn tsfn_;
    std::thread thread_;
    std::atomic<bool> aborted_{false};
    bool reportProgress_ = false;

    // JS-thread only
    Napi::Promise::Deferred* deferred_ = nullptr;
    Napi::FunctionReference onProgress_;
    std::function<void()> onDone_;
};

}  // namespace earshot
