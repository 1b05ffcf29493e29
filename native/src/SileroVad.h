// JS class SileroVad: one stream of whisper.cpp's ggml Silero VAD (weights, LSTM state and the 64-sample context
// of the previous window), run off the JS thread. One per audio stream: calls on it run one at a time.
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

#include "whisper.h"

namespace earshot {

class SileroVad : public Napi::ObjectWrap<SileroVad> {
public:
    static void init(Napi::Env env, Napi::Object exports);

    // new SileroVad(model: Uint8Array): the ggml model bytes (copied)
    explicit SileroVad(const Napi::CallbackInfo& info);
    ~SileroVad() override;

private:
    // detect(samples: Float32Array): Promise<Float32Array>, one probability per 512 samples (a last partial window
    // is zero-padded); the state carries over to the next call
    Napi::Value detect(const Napi::CallbackInfo& info);
    Napi::Value dispose(const Napi::CallbackInfo& info);
    void freeIfDisposed(Napi::Env env);
    void releaseContext(Napi::Env env);

    friend class DetectWorker;
    std::vector<uint8_t> model_;
    whisper_vad_context* vctx_ = nullptr;  // created by the first detect, on the worker thread
    bool busy_ = false;
    int64_t externalBytes_ = 0;  // reported to V8, so that forgotten streams are collected
    bool disposed_ = false;
};

}  // namespace earshot
