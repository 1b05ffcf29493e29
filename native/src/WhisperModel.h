// JS class WhisperModel: one loaded model; creates WhisperState objects (one per in-flight job).
#pragma once
#include <napi.h>

#include "ModelHandle.h"

namespace earshot {

class WhisperModel : public Napi::ObjectWrap<WhisperModel> {
public:
    static void init(Napi::Env env, Napi::Object exports);
    // loadModel(path, {useGpu, flashAttn, gpuDevice}) -> Promise<WhisperModel>
    static Napi::Value load(const Napi::CallbackInfo& info);
    static Napi::Object wrap(Napi::Env env, ModelHandlePtr handle);

    explicit WhisperModel(const Napi::CallbackInfo& info);

private:
    Napi::Value info(const Napi::CallbackInfo& info);
    Napi::Value createState(const Napi::CallbackInfo& info);
    Napi::Value dispose(const Napi::CallbackInfo& info);
    ModelHandlePtr requireHandle(Napi::Env env) const;

    ModelHandlePtr handle_;
};

}  // namespace earshot
