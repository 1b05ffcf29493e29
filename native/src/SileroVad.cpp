#include "SileroVad.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "NativeLog.h"

namespace earshot {

namespace {

// What one context holds: the weights (0.88 MB) and its compute buffer for 32 windows a graph (2.3 MB), as
// whisper.cpp logs them.
constexpr int64_t kContextBytes = 3'200'000;

struct MemoryReader {
    const uint8_t* data;
    size_t size;
    size_t offset = 0;
};

whisper_model_loader memoryLoader(MemoryReader* reader) {
    whisper_model_loader loader = {};
    loader.context = reader;
    loader.read = [](void* ctx, void* output, size_t readSize) -> size_t {
        auto* r = static_cast<MemoryReader*>(ctx);
        const size_t n = std::min(readSize, r->size - r->offset);
        std::memcpy(output, r->data + r->offset, n);
        if (n < readSize) std::memset(static_cast<uint8_t*>(output) + n, 0, readSize - n);
        r->offset += n;
        return n;
    };
    // whisper.cpp reads a tensor header and then asks eof: true once a read has hit the end.
    loader.eof = [](void* ctx) -> bool {
        auto* r = static_cast<MemoryReader*>(ctx);
        return r->offset >= r->size;
    };
    loader.close = [](void*) {};
    return loader;
}

}  // namespace

class DetectWorker : public Napi::AsyncWorker {
public:
    DetectWorker(Napi::Env env, SileroVad* vad, Napi::Object self, std::vector<float> samples)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), vad_(vad), samples_(std::move(samples)) {
        self_ = Napi::Persistent(self);  // keeps the object (and its context) alive while the worker runs
    }

    Napi::Promise promise() { return deferred_.Promise(); }

    void Execute() override {
        clearLastNativeError();
        if (vad_->vctx_ == nullptr) {
            whisper_vad_context_params params = whisper_vad_default_context_params();
            params.n_threads = 1;  // a window is tiny: thread hand-offs cost more than they save
            params.use_gpu = false;
            params.silero_context = true;
            MemoryReader reader{vad_->model_.data(), vad_->model_.size()};
            whisper_model_loader loader = memoryLoader(&reader);
            vad_->vctx_ = whisper_vad_init_with_params(&loader, params);
            if (vad_->vctx_ == nullptr) {
                const std::string detail = lastNativeError();
                SetError("failed to load the Silero VAD model" + (detail.empty() ? std::string() : ": " + detail));
                return;
            }
            whisper_vad_reset_state(vad_->vctx_);  // the LSTM state starts uninitialised
            vad_->model_.clear();
            vad_->model_.shrink_to_fit();
        }
        if (samples_.empty()) return;
        if (!whisper_vad_detect_speech_no_reset(vad_->vctx_, samples_.data(), static_cast<int>(samples_.size()))) {
            const std::string detail = lastNativeError();
            SetError("Silero VAD inference failed" + (detail.empty() ? std::string() : ": " + detail));
            return;
        }
        const int n = whisper_vad_n_probs(vad_->vctx_);
        const float* probs = whisper_vad_probs(vad_->vctx_);
        probs_.assign(probs, probs + n);
    }

    void OnOK() override {
        vad_->busy_ = false;
        if (vad_->vctx_ != nullptr && vad_->externalBytes_ == 0) {
            vad_->externalBytes_ = kContextBytes;
            Napi::MemoryManagement::AdjustExternalMemory(Env(), kContextBytes);
        }
        vad_->freeIfDisposed(Env());
        Napi::Float32Array out = Napi::Float32Array::New(Env(), probs_.size());
        if (!probs_.empty()) std::memcpy(out.Data(), probs_.data(), probs_.size() * sizeof(float));
        deferred_.Resolve(out);
    }

    void OnError(const Napi::Error& error) override {
        vad_->busy_ = false;
        vad_->freeIfDisposed(Env());
        deferred_.Reject(error.Value());
    }

private:
    Napi::Promise::Deferred deferred_;
    SileroVad* vad_;
    Napi::ObjectReference self_;
    std::vector<float> samples_;
    std::vector<float> probs_;
};

void SileroVad::init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "SileroVad", {
        InstanceMethod<&SileroVad::detect>("detect"),
        InstanceMethod<&SileroVad::dispose>("dispose"),
    });
    exports.Set("SileroVad", ctor);
}

SileroVad::SileroVad(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SileroVad>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
        throw Napi::TypeError::New(env, "new SileroVad(model): model must be a Uint8Array holding a ggml Silero VAD model");
    }
    Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
    model_.assign(bytes.Data(), bytes.Data() + bytes.ElementLength());
}

SileroVad::~SileroVad() {
    // A running detect holds a reference to this object, so it is never collected mid-call.
    releaseContext(Env());
}

void SileroVad::releaseContext(Napi::Env env) {
    if (vctx_ != nullptr) {
        whisper_vad_free(vctx_);
        vctx_ = nullptr;
    }
    if (externalBytes_ != 0) {
        Napi::MemoryManagement::AdjustExternalMemory(env, -externalBytes_);
        externalBytes_ = 0;
    }
}

void SileroVad::freeIfDisposed(Napi::Env env) {
    if (disposed_ && !busy_) releaseContext(env);
}

Napi::Value SileroVad::detect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (disposed_) throw Napi::Error::New(env, "the VAD stream has been disposed");
    if (busy_) throw Napi::Error::New(env, "the VAD stream is already running (calls must not overlap)");
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
        throw Napi::TypeError::New(env, "detect(samples): samples must be a Float32Array of 16 kHz mono samples");
    }
    Napi::Float32Array samples = info[0].As<Napi::Float32Array>();
    std::vector<float> copy(samples.Data(), samples.Data() + samples.ElementLength());
    auto* worker = new DetectWorker(env, this, Value(), std::move(copy));
    busy_ = true;
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
}

Napi::Value SileroVad::dispose(const Napi::CallbackInfo& info) {
    disposed_ = true;
    model_.clear();
    model_.shrink_to_fit();
    freeIfDisposed(info.Env());  // a running detect frees the context when it ends
    return info.Env().Undefined();
}

}  // namespace earshot
