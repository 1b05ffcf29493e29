// JS classes WhisperState and ParakeetState: one engine's per-job native state (caches, buffers), which runs one
// transcription at a time on a native thread; the TS job slots (src/engine/StatePool.ts) keep a pool of them. The
// JS surface (transcribe, abort, setThreads, threadsOverride, busy, dispose) and its rules are the same for every
// engine; what differs (how a job's options are read and its job started, how a state is freed and its threads
// changed) comes from the Engine traits in WhisperState.h and ParakeetState.h.
#pragma once
#include <napi.h>

#include <functional>
#include <utility>
#include <vector>

#include "AddonData.h"

namespace earshot {

template <typename Engine>
class JobState : public Napi::ObjectWrap<JobState<Engine>> {
public:
    using Handle = typename Engine::Handle;
    using NativeState = typename Engine::NativeState;
    using Job = typename Engine::Job;

    static void init(Napi::Env env, Napi::Object exports) {
        Napi::Function ctor = JobState::DefineClass(env, Engine::kClassName, {
            JobState::template InstanceMethod<&JobState::transcribe>("transcribe"),
            JobState::template InstanceMethod<&JobState::abort>("abort"),
            JobState::template InstanceMethod<&JobState::dispose>("dispose"),
            JobState::template InstanceMethod<&JobState::setThreads>("setThreads"),
            JobState::template InstanceAccessor<&JobState::threadsOverride>("threadsOverride"),
            JobState::template InstanceAccessor<&JobState::busy>("busy"),
        });
        Engine::constructor(addonData(env)) = Napi::Persistent(ctor);
        exports.Set(Engine::kClassName, ctor);
    }

    static Napi::Object wrap(Napi::Env env, Handle model, NativeState* state) {
        Napi::Object object = Engine::constructor(addonData(env)).New({});
        JobState* self = JobState::Unwrap(object);
        self->model_ = std::move(model);
        self->state_ = state;
        return object;
    }

    explicit JobState(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JobState>(info) {}

    ~JobState() override {
        // A running job holds a reference to this object, so it is never collected mid-job.
        if (state_ != nullptr) Engine::freeState(state_);
    }

private:
    // transcribe(pcm: Float32Array, options, ...callbacks) -> Promise<result>; the callbacks are the engine's.
    Napi::Value transcribe(const Napi::CallbackInfo& info) {
        Napi::Env env = info.Env();
        if (state_ == nullptr) throw Napi::Error::New(env, "the state has been disposed");
        if (job_ != nullptr) throw Napi::Error::New(env, "the state is already running a transcription");
        if (info.Length() < 2 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
            throw Napi::TypeError::New(env, "transcribe(pcm, options): pcm must be a Float32Array of 16 kHz mono samples");
        }
        if (!info[1].IsObject()) throw Napi::TypeError::New(env, "transcribe(pcm, options): options must be an object");
        Napi::Float32Array samples = info[0].As<Napi::Float32Array>();
        std::vector<float> pcm(samples.Data(), samples.Data() + samples.ElementLength());
        // Every job starts on its own threads: an override from the last job ends here (the engine may take it up).
        const int threadsOverride = threadsOverride_;
        threadsOverride_ = 0;
        selfWhileBusy_ = Napi::Persistent(this->Value());
        std::function<void()> onDone = [this] {
            job_ = nullptr;
            selfWhileBusy_.Reset();
        };
        try {
            return Engine::start(info, model_, state_, std::move(pcm), threadsOverride, std::move(onDone), &job_);
        } catch (...) {
            selfWhileBusy_.Reset();
            throw;
        }
    }

    Napi::Value abort(const Napi::CallbackInfo& info) {
        if (job_ != nullptr) job_->abort();
        return Napi::Boolean::New(info.Env(), job_ != nullptr);
    }

    // setThreads(n): the running job's threads from the engine's next pass on, where it can change them (0: its own).
    Napi::Value setThreads(const Napi::CallbackInfo& info) {
        Napi::Env env = info.Env();
        if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "setThreads(n): n must be a number");
        const int n = info[0].As<Napi::Number>().Int32Value();
        if (n < 0) throw Napi::RangeError::New(env, "setThreads(n): n must be 0 or more");
        if (state_ != nullptr) Engine::setThreads(state_, n);
        threadsOverride_ = n;
        return env.Undefined();
    }

    Napi::Value threadsOverride(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), threadsOverride_); }

    Napi::Value busy(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), job_ != nullptr); }

    Napi::Value dispose(const Napi::CallbackInfo& info) {
        Napi::Env env = info.Env();
        if (job_ != nullptr) throw Napi::Error::New(env, "cannot dispose a state while it is transcribing; abort it first");
        if (state_ != nullptr) {
            Engine::freeState(state_);
            state_ = nullptr;
        }
        model_.reset();
        return env.Undefined();
    }

    Handle model_;
    NativeState* state_ = nullptr;
    Job* job_ = nullptr;       // the running job, JS thread only
    int threadsOverride_ = 0;  // the last setThreads() (0 again when a job starts)
    Napi::ObjectReference selfWhileBusy_;
};

}  // namespace earshot
