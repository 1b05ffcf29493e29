#include "WhisperModel.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "AddonData.h"
#include "NativeLog.h"
#include "WhisperState.h"

namespace earshot {
namespace {

class LoadModelWorker : public Napi::AsyncWorker {
public:
    LoadModelWorker(Napi::Env env, std::string path, whisper_context_params params, std::vector<whisper_ahead> heads)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)), params_(params), heads_(std::move(heads)) {
        // The vector's buffer moves into the ModelHandle with it, so this pointer stays valid for the context's life.
        if (params_.dtw_aheads_preset == WHISPER_AHEADS_CUSTOM) params_.dtw_aheads = {heads_.size(), heads_.data()};
    }

    Napi::Promise promise() { return deferred_.Promise(); }

    void Execute() override {
        clearLastNativeError();
        whisper_context* ctx = whisper_init_from_file_with_params_no_state(path_.c_str(), params_);
        if (ctx == nullptr) {
            std::string detail = lastNativeError();
            SetError("failed to load the model from " + path_ + (detail.empty() ? "" : ": " + detail));
            return;
        }
        handle_ = std::make_shared<ModelHandle>(ctx, path_, std::move(heads_));
    }

    void OnOK() override { deferred_.Resolve(WhisperModel::wrap(Env(), std::move(handle_))); }
    void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

private:
    Napi::Promise::Deferred deferred_;
    std::string path_;
    whisper_context_params params_;
    std::vector<whisper_ahead> heads_;
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

const std::map<std::string, whisper_alignment_heads_preset>& alignmentPresets() {
    static const std::map<std::string, whisper_alignment_heads_preset> presets = {
        {"tiny.en", WHISPER_AHEADS_TINY_EN},     {"tiny", WHISPER_AHEADS_TINY},
        {"base.en", WHISPER_AHEADS_BASE_EN},     {"base", WHISPER_AHEADS_BASE},
        {"small.en", WHISPER_AHEADS_SMALL_EN},   {"small", WHISPER_AHEADS_SMALL},
        {"medium.en", WHISPER_AHEADS_MEDIUM_EN}, {"medium", WHISPER_AHEADS_MEDIUM},
        {"large-v1", WHISPER_AHEADS_LARGE_V1},   {"large-v2", WHISPER_AHEADS_LARGE_V2},
        {"large-v3", WHISPER_AHEADS_LARGE_V3},   {"large-v3-turbo", WHISPER_AHEADS_LARGE_V3_TURBO},
    };
    return presets;
}

// options.alignmentHeads: {preset: "tiny" | ... | "large-v3-turbo" | "top" | "custom", nTop?, heads?: [layer, head, ...],
// count?}: loads the context with DTW alignment heads, so that a job may ask for the alignment pass (dtw). Absent: none.
void readAlignmentHeads(Napi::Env env, const Napi::Object& options, whisper_context_params& params, std::vector<whisper_ahead>& heads) {
    Napi::Value value = options.Get("alignmentHeads");
    if (value.IsUndefined() || value.IsNull()) return;
    if (!value.IsObject()) throw Napi::TypeError::New(env, "alignmentHeads must be an object");
    Napi::Object o = value.As<Napi::Object>();
    Napi::Value presetValue = o.Get("preset");
    if (!presetValue.IsString()) throw Napi::TypeError::New(env, "alignmentHeads.preset must be a string");
    const std::string preset = presetValue.As<Napi::String>().Utf8Value();
    if (preset == "top") {
        Napi::Value n = o.Get("nTop");
        if (!n.IsNumber() || n.As<Napi::Number>().Int32Value() < 1) throw Napi::TypeError::New(env, "alignmentHeads.nTop must be a positive integer");
        params.dtw_aheads_preset = WHISPER_AHEADS_N_TOP_MOST;
        params.dtw_n_top = n.As<Napi::Number>().Int32Value();
    } else if (preset == "custom") {
        Napi::Value list = o.Get("heads");
        if (!list.IsArray()) throw Napi::TypeError::New(env, "alignmentHeads.heads must be an array of layer, head pairs");
        Napi::Array array = list.As<Napi::Array>();
        if (array.Length() == 0 || array.Length() % 2 != 0) throw Napi::TypeError::New(env, "alignmentHeads.heads must hold layer, head pairs");
        for (uint32_t i = 0; i < array.Length(); i += 2) {
            Napi::Value layer = array.Get(i);
            Napi::Value head = array.Get(i + 1);
            if (!layer.IsNumber() || !head.IsNumber()) throw Napi::TypeError::New(env, "alignmentHeads.heads must hold numbers");
            heads.push_back({layer.As<Napi::Number>().Int32Value(), head.As<Napi::Number>().Int32Value()});
        }
        params.dtw_aheads_preset = WHISPER_AHEADS_CUSTOM;
    } else {
        auto found = alignmentPresets().find(preset);
        if (found == alignmentPresets().end()) throw Napi::TypeError::New(env, "alignmentHeads.preset is not a known preset: " + preset);
        params.dtw_aheads_preset = found->second;
    }
    params.dtw_token_timestamps = true;
    // The alignment pass's scratch memory: about 8 MB per head for a window of 448 tokens (whisper.cpp's 128 MB
    // default holds 16 heads; large-v2's preset has 23). Reserved, and only touched as far as a window needs.
    Napi::Value count = o.Get("count");
    const size_t nHeads = count.IsNumber() ? static_cast<size_t>(std::max(0, count.As<Napi::Number>().Int32Value())) : 0;
    params.dtw_mem_size = std::max(params.dtw_mem_size, nHeads * static_cast<size_t>(10) * 1024 * 1024);
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
    std::vector<whisper_ahead> heads;
    if (info.Length() > 1 && info[1].IsObject()) {
        Napi::Object options = info[1].As<Napi::Object>();
        params.use_gpu = optionalBool(options, "useGpu", false);
        params.flash_attn = optionalBool(options, "flashAttn", params.flash_attn);
        Napi::Value device = options.Get("gpuDevice");
        if (device.IsNumber()) params.gpu_device = device.As<Napi::Number>().Int32Value();
        readAlignmentHeads(env, options, params, heads);
    }
    auto* worker = new LoadModelWorker(env, info[0].As<Napi::String>().Utf8Value(), params, std::move(heads));
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
