#include "ParakeetModel.h"

#include <utility>

#include "AddonData.h"
#include "NativeLog.h"
#include "ParakeetState.h"

namespace earshot {
namespace {

class LoadParakeetWorker : public Napi::AsyncWorker {
public:
    LoadParakeetWorker(Napi::Env env, std::string path, parakeet_context_params params)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)), params_(params) {}

    Napi::Promise promise() { return deferred_.Promise(); }

    void Execute() override {
        clearLastNativeError();
        parakeet_context* ctx = parakeet_init_from_file_with_params_no_state(path_.c_str(), params_);
        if (ctx == nullptr) {
            std::string detail = lastNativeError();
            SetError("failed to load the Parakeet model from " + path_ + (detail.empty() ? "" : ": " + detail));
            return;
        }
        handle_ = std::make_shared<ParakeetHandle>(ctx, path_);
    }

    void OnOK() override { deferred_.Resolve(ParakeetModel::wrap(Env(), std::move(handle_))); }
    void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

private:
    Napi::Promise::Deferred deferred_;
    std::string path_;
    parakeet_context_params params_;
    ParakeetHandlePtr handle_;
};

class CreateParakeetStateWorker : public Napi::AsyncWorker {
public:
    CreateParakeetStateWorker(Napi::Env env, ParakeetHandlePtr handle)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), handle_(std::move(handle)) {}

    Napi::Promise promise() { return deferred_.Promise(); }

    void Execute() override {
        clearLastNativeError();
        state_ = parakeet_init_state(handle_->ctx);
        if (state_ == nullptr) {
            std::string detail = lastNativeError();
            SetError("failed to allocate a Parakeet state" + (detail.empty() ? std::string() : ": " + detail));
        }
    }

    void OnOK() override { deferred_.Resolve(ParakeetState::wrap(Env(), handle_, state_)); }
    void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

private:
    Napi::Promise::Deferred deferred_;
    ParakeetHandlePtr handle_;
    parakeet_state* state_ = nullptr;
};

}  // namespace

void ParakeetModel::init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "ParakeetModel", {
        InstanceMethod<&ParakeetModel::info>("info"),
        InstanceMethod<&ParakeetModel::createState>("createState"),
        InstanceMethod<&ParakeetModel::dispose>("dispose"),
    });
    addonData(env).parakeetModelConstructor = Napi::Persistent(ctor);
    exports.Set("ParakeetModel", ctor);
    exports.Set("loadParakeetModel", Napi::Function::New(env, &ParakeetModel::load, "loadParakeetModel"));
    exports.Set("parakeetVersion", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
        return Napi::String::New(info.Env(), parakeet_version());
    }, "parakeetVersion"));
}

Napi::Value ParakeetModel::load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "loadParakeetModel(path, options): path must be a string");
    parakeet_context_params params = parakeet_context_default_params();
    params.use_gpu = false;
    if (info.Length() > 1 && info[1].IsObject()) {
        Napi::Object options = info[1].As<Napi::Object>();
        Napi::Value useGpu = options.Get("useGpu");
        if (useGpu.IsBoolean()) params.use_gpu = useGpu.As<Napi::Boolean>().Value();
        Napi::Value device = options.Get("gpuDevice");
        if (device.IsNumber()) params.gpu_device = device.As<Napi::Number>().Int32Value();
    }
    auto* worker = new LoadParakeetWorker(env, info[0].As<Napi::String>().Utf8Value(), params);
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
}

Napi::Object ParakeetModel::wrap(Napi::Env env, ParakeetHandlePtr handle) {
    Napi::Object object = addonData(env).parakeetModelConstructor.New({});
    ParakeetModel::Unwrap(object)->handle_ = std::move(handle);
    return object;
}

ParakeetModel::ParakeetModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ParakeetModel>(info) {}

ParakeetHandlePtr ParakeetModel::requireHandle(Napi::Env env) const {
    if (!handle_) throw Napi::Error::New(env, "the model has been disposed");
    return handle_;
}

Napi::Value ParakeetModel::info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    parakeet_context* ctx = requireHandle(env)->ctx;
    Napi::Object out = Napi::Object::New(env);
    out.Set("path", handle_->path);
    out.Set("nVocab", parakeet_model_n_vocab(ctx));
    out.Set("nAudioCtx", parakeet_model_n_audio_ctx(ctx));
    out.Set("nAudioState", parakeet_model_n_audio_state(ctx));
    out.Set("nAudioHead", parakeet_model_n_audio_head(ctx));
    out.Set("nAudioLayer", parakeet_model_n_audio_layer(ctx));
    out.Set("nMels", parakeet_model_n_mels(ctx));
    out.Set("ftype", parakeet_model_ftype(ctx));
    out.Set("blankToken", parakeet_token_blank(ctx));
    return out;
}

Napi::Value ParakeetModel::createState(const Napi::CallbackInfo& info) {
    auto* worker = new CreateParakeetStateWorker(info.Env(), requireHandle(info.Env()));
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
}

Napi::Value ParakeetModel::dispose(const Napi::CallbackInfo& info) {
    // States created from this model keep the weights alive until they are disposed too.
    handle_.reset();
    return info.Env().Undefined();
}

}  // namespace earshot
