#include "WhisperState.h"

#include <utility>
#include <vector>

#include "AddonData.h"
#include "TranscribeJob.h"
#include "TranscribeParams.h"

namespace earshot {

void WhisperState::init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "WhisperState", {
        InstanceMethod<&WhisperState::transcribe>("transcribe"),
        InstanceMethod<&WhisperState::abort>("abort"),
        InstanceMethod<&WhisperState::dispose>("dispose"),
        InstanceMethod<&WhisperState::setThreads>("setThreads"),
        InstanceAccessor<&WhisperState::threadsOverride>("threadsOverride"),
        InstanceAccessor<&WhisperState::busy>("busy"),
    });
    addonData(env).stateConstructor = Napi::Persistent(ctor);
    exports.Set("WhisperState", ctor);
}

Napi::Object WhisperState::wrap(Napi::Env env, ModelHandlePtr model, whisper_state* state) {
    Napi::Object object = addonData(env).stateConstructor.New({});
    WhisperState* self = WhisperState::Unwrap(object);
    self->model_ = std::move(model);
    self->state_ = state;
    return object;
}

WhisperState::WhisperState(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WhisperState>(info) {}

WhisperState::~WhisperState() {
    // A running job holds a reference to this object, so it is never collected mid-job.
    if (state_ != nullptr) whisper_free_state(state_);
}

Napi::Value WhisperState::transcribe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (state_ == nullptr) throw Napi::Error::New(env, "the state has been disposed");
    if (job_ != nullptr) throw Napi::Error::New(env, "the state is already running a transcription");
    if (info.Length() < 2 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
        throw Napi::TypeError::New(env, "transcribe(pcm, options): pcm must be a Float32Array of 16 kHz mono samples");
    }
    if (!info[1].IsObject()) throw Napi::TypeError::New(env, "transcribe(pcm, options): options must be an object");
    Napi::Float32Array samples = info[0].As<Napi::Float32Array>();
    TranscribeParams params = parseTranscribeParams(info[1].As<Napi::Object>());
    std::vector<float> pcm(samples.Data(), samples.Data() + samples.ElementLength());
    whisper_state_set_n_threads(state_, 0);  // a job starts on its own n_threads
    threadsOverride_ = 0;

    selfWhileBusy_ = Napi::Persistent(Value());
    Napi::Promise promise = TranscribeJob::start(
        env, model_, state_, std::move(pcm), std::move(params),
        info.Length() > 2 ? info[2] : env.Undefined(),
        info.Length() > 3 ? info[3] : env.Undefined(),
        info.Length() > 4 ? info[4] : env.Undefined(),
        [this] {
            job_ = nullptr;
            selfWhileBusy_.Reset();
        },
        &job_);
    return promise;
}

Napi::Value WhisperState::abort(const Napi::CallbackInfo& info) {
    if (job_ != nullptr) job_->abort();
    return Napi::Boolean::New(info.Env(), job_ != nullptr);
}

Napi::Value WhisperState::setThreads(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "setThreads(n): n must be a number");
    const int n = info[0].As<Napi::Number>().Int32Value();
    if (n < 0) throw Napi::RangeError::New(env, "setThreads(n): n must be 0 or more");
    if (state_ != nullptr) whisper_state_set_n_threads(state_, n);
    threadsOverride_ = n;
    return env.Undefined();
}

Napi::Value WhisperState::threadsOverride(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), threadsOverride_); }

Napi::Value WhisperState::busy(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), job_ != nullptr); }

Napi::Value WhisperState::dispose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (job_ != nullptr) throw Napi::Error::New(env, "cannot dispose a state while it is transcribing; abort it first");
    if (state_ != nullptr) {
        whisper_free_state(state_);
        state_ = nullptr;
    }
    model_.reset();
    return env.Undefined();
}

}  // namespace earshot
