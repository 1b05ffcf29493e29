// JS class ParakeetModel: one loaded Parakeet TDT model (whisper.cpp's parakeet_* API); creates ParakeetState objects,
// one per in-flight job, all sharing the weights. The Parakeet counterpart of WhisperModel.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "parakeet.h"

namespace earshot {

// Owns one parakeet_context (weights in memory once), shared by the JS model and every state made from it.
struct ParakeetHandle {
    parakeet_context* ctx = nullptr;
    std::string path;

    ParakeetHandle(parakeet_context* context, std::string modelPath) : ctx(context), path(std::move(modelPath)) {}
    ~ParakeetHandle() {
        if (ctx != nullptr) parakeet_free(ctx);
    }
    ParakeetHandle(const ParakeetHandle&) = delete;
    ParakeetHandle& operator=(const ParakeetHandle&) = delete;
};

using ParakeetHandlePtr = std::shared_ptr<ParakeetHandle>;

class ParakeetModel : public Napi::ObjectWrap<ParakeetModel> {
public:
    static void init(Napi::Env env, Napi::Object exports);
    // loadParakeetModel(path, {useGpu, gpuDevice}) -> Promise<ParakeetModel>
    static Napi::Value load(const Napi::CallbackInfo& info);
    static Napi::Object wrap(Napi::Env env, ParakeetHandlePtr handle);

    explicit ParakeetModel(const Napi::CallbackInfo& info);

private:
    Napi::Value info(const Napi::CallbackInfo& info);
    Napi::Value createState(const Napi::CallbackInfo& info);
    Napi::Value dispose(const Napi::CallbackInfo& info);
    ParakeetHandlePtr requireHandle(Napi::Env env) const;

    ParakeetHandlePtr handle_;
};

}  // namespace earshot
