#include "ParakeetState.h"

#include <utility>
#include <vector>

#include "AddonData.h"
#include "ParakeetJob.h"

namespace earshot {

void ParakeetState::init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "ParakeetState", {
        InstanceMethod<&ParakeetState::transcribe>("transcribe"),
        InstanceMethod<&ParakeetState::abort>("abort"),
        InstanceMethod<&ParakeetState::dispose>("dispose"),
        InstanceMethod<&ParakeetState::setThreads>("setThreads"),
        InstanceAccessor<&ParakeetState::threadsOverride>("threadsOverride"),
        InstanceAccessor<&ParakeetState::busy>("busy"),
    });
    addonData(env).parakeetStateConstructor = Napi::Persistent(ctor);
    exports.Set("ParakeetState", ctor);
}

Napi::Object ParakeetState::wrap(Napi::Env env, ParakeetHandlePtr model, parakeet_state* state) {
    Napi::Object object = addonData(env).parakeetStateConstructor.New({});
    ParakeetState* self = ParakeetState::Unwrap(object);
    self->model_ = std::move(model);
    self->state_ = state;
    return object;
}

ParakeetState::ParakeetState(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ParakeetState>(info) {}

ParakeetState::~ParakeetState() {
    // A running job holds a reference to this object, so it is never collected mid-job.
    if (state_ != nullptr) parakeet_free_state(state_);
}

Napi::Value ParakeetState::transcribe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (state_ == nullptr) throw Napi::Error::New(env, "the state has been disposed");
    if (job_ != nullptr) throw Napi::Error::New(env, "the state is already running a transcription");
    if (info.Length() < 2 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
        throw Napi::TypeError::New(env, "transcribe(pcm, options): pcm must be a Float32Array of 16 kHz mono samples");
    }
    if (!info[1].IsObject()) throw Napi::TypeError::New(env, "transcribe(pcm, options): options must be an object");
    Napi::Value threadsValue = info[1].As<Napi::Object>().Get("threads");
    int threads = threadsValue.IsNumber() ? threadsValue.As<Napi::Number>().Int32Value() : 4;
    if (threads < 1) throw Napi::RangeError::New(env, "transcribe(pcm, options): threads must be 1 or more");
    if (threadsOverride_ > 0) threads = threadsOverride_;
    threadsOverride_ = 0;
    Napi::Float32Array samples = info[0].As<Napi::Float32Array>();
    std::vector<float> pcm(samples.Data(), samples.Data() + samples.ElementLength());

    selfWhileBusy_ = Napi::Persistent(Value());
    return ParakeetJob::start(
        env, model_, state_, std::move(pcm), threads,
        info.Length() > 2 ? info[2] : env.Undefined(),
        [this] {
            job_ = nullptr;
            selfWhileBusy_.Reset();
        },
        &job_);
}

Napi::Value ParakeetState::abort(const Napi::CallbackInfo& info) {
    if (job_ != nullptr) job_->abort();
    return Napi::Boolean::New(info.Env(), job_ != nullptr);
}

Napi::Value ParakeetState::setThreads(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "setThreads(n): n must be a number");
    const int n = info[0].As<Napi::Number>().Int32Value();
    if (n < 0) throw Napi::RangeError::New(env, "setThreads(n): n must be 0 or more");
    threadsOverride_ = n;
    return env.Undefined();
}

Napi::Value ParakeetState::threadsOverride(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), threadsOverride_); }

Napi::Value ParakeetState::busy(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), job_ != nullptr); }

Napi::Value ParakeetState::dispose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (job_ != nullptr) throw Napi::Error::New(env, "cannot dispose a state while it is transcribing; abort it first");
    if (state_ != nullptr) {
        parakeet_free_state(state_);
        state_ = nullptr;
    }
    model_.reset();
    return env.Undefined();
}

}  // namespace earshot
