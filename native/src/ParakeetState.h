// JS class ParakeetState: the per-job state (encoder output, LSTM state, buffers) of one Parakeet model. A state runs
// one transcription at a time; the TS job slots (src/engine/StatePool.ts) keep a pool of them, as for Whisper.
#pragma once
#include <napi.h>

#include "ParakeetModel.h"

namespace earshot {

class ParakeetJob;

class ParakeetState : public Napi::ObjectWrap<ParakeetState> {
public:
    static void init(Napi::Env env, Napi::Object exports);
    static Napi::Object wrap(Napi::Env env, ParakeetHandlePtr model, parakeet_state* state);

    explicit ParakeetState(const Napi::CallbackInfo& info);
    ~ParakeetState() override;

private:
    // transcribe(pcm: Float32Array, {threads}, onProgress?) -> Promise<result>
    Napi::Value transcribe(const Napi::CallbackInfo& info);
    Napi::Value abort(const Napi::CallbackInfo& info);
    Napi::Value dispose(const Napi::CallbackInfo& info);
    Napi::Value busy(const Napi::CallbackInfo& info);
    // setThreads(n): parakeet_full takes its threads once per job, so this applies from the next job on.
    Napi::Value setThreads(const Napi::CallbackInfo& info);
    Napi::Value threadsOverride(const Napi::CallbackInfo& info);

    ParakeetHandlePtr model_;
    parakeet_state* state_ = nullptr;
    ParakeetJob* job_ = nullptr;  // the running job, JS thread only
    int threadsOverride_ = 0;
    Napi::ObjectReference selfWhileBusy_;
};

}  // namespace earshot
