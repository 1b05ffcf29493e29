// Entry point of Earshot's native addon: module exports and build information.
// The whole JS-facing surface is typed in src/engine/nativeTypes.ts.
#include <napi.h>

#include <thread>

#include "AddonData.h"
#include "NativeLog.h"
#include "ParakeetModel.h"
#include "ParakeetState.h"
#include "SileroVad.h"
#include "WhisperModel.h"
#include "WhisperState.h"
#include "ggml-backend.h"
#include "whisper.h"

namespace earshot {
namespace {

Napi::Value buildInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("whisperVersion", whisper_version());
    out.Set("systemInfo", whisper_print_system_info());
    out.Set("hardwareThreads", static_cast<double>(std::thread::hardware_concurrency()));
    Napi::Array devices = Napi::Array::New(env);
    for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
        ggml_backend_dev_t dev = ggml_backend_dev_get(i);
        Napi::Object d = Napi::Object::New(env);
        d.Set("name", ggml_backend_dev_name(dev));
        d.Set("description", ggml_backend_dev_description(dev));
        const auto type = ggml_backend_dev_type(dev);
        d.Set("type", type == GGML_BACKEND_DEVICE_TYPE_CPU ? "cpu" : type == GGML_BACKEND_DEVICE_TYPE_GPU ? "gpu" : "other");
        devices.Set(static_cast<uint32_t>(i), d);
    }
    out.Set("devices", devices);
    return out;
}

Napi::Value languages(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    for (int id = 0; id <= whisper_lang_max_id(); ++id) {
        Napi::Object lang = Napi::Object::New(env);
        lang.Set("id", id);
        lang.Set("code", whisper_lang_str(id));
        lang.Set("name", whisper_lang_str_full(id));
        out.Set(static_cast<uint32_t>(id), lang);
    }
    return out;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
    env.SetInstanceData(new AddonData());
    installLogCapture();
    exports.Set("buildInfo", Napi::Function::New(env, buildInfo, "buildInfo"));
    exports.Set("languages", Napi::Function::New(env, languages, "languages"));
    WhisperModel::init(env, exports);
    WhisperState::init(env, exports);
    ParakeetModel::init(env, exports);
    ParakeetState::init(env, exports);
    SileroVad::init(env, exports);
    return exports;
}

}  // namespace
}  // namespace earshot

static Napi::Object InitEarshotAddon(Napi::Env env, Napi::Object exports) { return earshot::init(env, exports); }

NODE_API_MODULE(earshot, InitEarshotAddon)
