// JS class WhisperState: the per-job decoding state (KV caches, buffers) of one model.
// A state runs one transcription at a time; the TS scheduler keeps a pool of them.
#pragma once
#include <napi.h>

#include "ModelHandle.h"

namespace earshot {

class TranscribeJob;

class WhisperState : public Napi::ObjectWrap<WhisperState> {
public:
    static void init(Napi::Env env, Napi::Object exports);
    static Napi::Object wrap(Napi::Env env, ModelHandlePtr model, whisper_state* state);

    explicit WhisperState(const Napi::CallbackInfo& info);
    ~WhisperState() override;

private:
    // transcribe(pcm: Float32Array, options, onSegments?, onProgress?) -> Promise<result>
    Napi::Value transcribe(const Napi::CallbackInfo& info);
    Napi::Value abort(const Napi::CallbackInfo& info);
    Napi::Value dispose(const Napi::CallbackInfo& info);
    Napi::Value busy(const Napi::CallbackInfo& info);
    // setThreads(n): the running job's threads from its next encoder/decoder pass on (0: its own n_threads)
    Napi::Value setThreads(const Napi::CallbackInfo& info);
    Napi::Value threadsOverride(const Napi::CallbackInfo& info);

    ModelHandlePtr model_;
    whisper_state* state_ = nullptr;
    TranscribeJob* job_ = nullptr;  // the running job, JS thread only
    int threadsOverride_ = 0;       // the last setThreads() (0 again when a job starts)
    Napi::ObjectReference selfWhileBusy_;
};

}  // namespace earshot
