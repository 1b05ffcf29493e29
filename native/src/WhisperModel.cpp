#include "WhisperModel.h"

#include <utility>

#include "AddonData.h"
#include "NativeLog.h"
#include "WhisperState.h"

namespace earshot {
namespace {

class LoadModelWorker : public Napi::AsyncWorker {
public:
    LoadModelWorker(Napi::Env env, std::string path, whisper_context_params params)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)), params_(params) {}

    Napi::Promise promise() { return deferred_.Promise(); }

    void Execute() override {
        clearLastNativeError();
        whisper_context* ctx = whisper_init_from_file_with_params_no_state(path_.c_str(), params_);
        if (ctx == nullptr) {
            std::string detail = lastNativeError();
            SetError("failed to load the model from " + path_ + (detail.empty() ? "" : ": " + detail));
            return;
        }
        handle_ = std::make_shared<ModelHandle>(ctx, path_);
    }

    void OnOK() override { deferred_.Resolve(WhisperModel::wrap(Env(), std::move(handle_))); }
    void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

private:
    Napi::Promise::Deferred deferred_;
    std::string path_;
    whisper_context_params params_;
    ModelHandlePtr handle_;
};

class CreateStateWorker : public Napi::AsyncWorker {
public:
    CreateStateWorker(Napi::Env env, ModelHandlePtr handle)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), handle_(std::move(handle)) {}

    Napi::Promise promise() { return deferred_.Promise(); }

    void Execute() override {
        clearLastNativeError();
        state_ = whisper_init_state(handle_->ctx);
        if (state_ == nullptr) {
            std::string detail = lastNativeError();
            SetError("failed to allocate a whisper state" + (detail.empty() ? std::string() : ": " + detail));
        }
    }

    void OnOK() override { deferred_.Resolve(WhisperState::wrap(Env(), handle_, state_)); }
    void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

private:
    Napi::Promise::Deferred deferred_;
    ModelHandlePtr handle_;
    whisper_state* state_ = nullptr;
};

bool optionalBool(const Napi::Object& o, const char* key, bool fallback) {
    Napi::Value v = o.Get(key);
    return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}

}  // namespace

void WhisperModel::init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "WhisperModel", {
        InstanceMethod<&WhisperModel::info>("info"),
        InstanceMethod<&WhisperModel::createState>("createState"),
        InstanceMethod<&WhisperModel::dispose>("dispose"),
    });
    addonData(env).modelConstructor = Napi::Persistent(ctor);
    exports.Set("WhisperModel", ctor);
    exports.Set("loadModel", Napi::Function::New(env, &WhisperModel::load, "loadModel"));
}

Napi::Value WhisperModel::load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "loadModel(path, options): path must be a string");
    whisper_context_params params = whisper_context_default_params();
    params.use_gpu = false;
    if (info.Length() > 1 && info[1].IsObject()) {
        Napi::Object options = info[1].As<Napi::Object>();
        params.use_gpu = optionalBool(options, "useGpu", false);
        params.flash_attn = optionalBool(options, "flashAttn", params.flash_attn);
        Napi::Value device = options.Get("gpuDevice");
        if (device.IsNumber()) params.gpu_device = device.As<Napi::Number>().Int32Value();
    }
    auto* worker = new LoadModelWorker(env, info[0].As<Napi::String>().Utf8Value(), params);
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
}

Napi::Object WhisperModel::wrap(Napi::Env env, ModelHandlePtr handle) {
    Napi::Object object = addonData(env).modelConstructor.New({});
    WhisperModel::Unwrap(object)->handle_ = std::move(handle);
    return object;
}

WhisperModel::WhisperModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WhisperModel>(info) {}

ModelHandlePtr WhisperModel::requireHandle(Napi::Env env) const {
    if (!handle_) throw Napi::Error::New(env, "the model has been disposed");
    return handle_;
}

Napi::Value WhisperModel::info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    whisper_context* ctx = requireHandle(env)->ctx;
    Napi::Object out = Napi::Object::New(env);
    out.Set("path", handle_->path);
    out.Set("type", whisper_model_type_readable(ctx));
    out.Set("multilingual", whisper_is_multilingual(ctx) != 0);
    out.Set("nVocab", whisper_model_n_vocab(ctx));
    out.Set("nAudioCtx", whisper_model_n_audio_ctx(ctx));
    out.Set("nAudioState", whisper_model_n_audio_state(ctx));
    out.Set("nAudioHead", whisper_model_n_audio_head(ctx));
    out.Set("nAudioLayer", whisper_model_n_audio_layer(ctx));
    out.Set("nTextCtx", whisper_model_n_text_ctx(ctx));
    out.Set("nTextState", whisper_model_n_text_state(ctx));
    out.Set("nTextHead", whisper_model_n_text_head(ctx));
    out.Set("nTextLayer", whisper_model_n_text_layer(ctx));
    out.Set("nMels", whisper_model_n_mels(ctx));
    out.Set("ftype", whisper_model_ftype(ctx));
    Napi::Object tokens = Napi::Object::New(env);
    tokens.Set("eot", whisper_token_eot(ctx));
    tokens.Set("sot", whisper_token_sot(ctx));
    tokens.Set("beg", whisper_token_beg(ctx));
    tokens.Set("translate", whisper_token_translate(ctx));
    tokens.Set("transcribe", whisper_token_transcribe(ctx));
    tokens.Set("noTimestamps", whisper_token_not(ctx));
    out.Set("specialTokens", tokens);
    return out;
}

Napi::Value WhisperModel::createState(const Napi::CallbackInfo& info) {
    auto* worker = new CreateStateWorker(info.Env(), requireHandle(info.Env()));
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
}

Napi::Value WhisperModel::dispose(const Napi::CallbackInfo& info) {
    // States created from this model keep the weights alive until they are disposed too.
    handle_.reset();
    return info.Env().Undefined();
}

}  // namespace earshot
