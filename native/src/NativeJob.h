// What every engine's job shares: a promise settled on the JS thread, a thread-safe function that carries the job's
// events from its native thread to JS, the thread itself, and the abort flag the engine's callbacks poll. A job
// (TranscribeJob, ParakeetJob) derives from NativeJob<itself, its event type>, runs its engine in run() and handles
// each event in handle() on the JS thread, settling with resolve() or reject() once. Freed when the thread-safe
// function is finalized, after its thread has ended.
#pragma once
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

namespace earshot {

/** The error a job's promise rejects with: `code` is one of src/engine/nativeTypes.ts NativeJobErrorCode. */
inline Napi::Error jobError(Napi::Env env, const std::string& code, const std::string& message) {
    Napi::Error error = Napi::Error::New(env, message);
    error.Set("code", code);
    return error;
}

template <typename Self, typename Event>
class NativeJob {
public:
    void abort() { aborted_.store(true); }

protected:
    NativeJob() = default;

    // JS thread: makes the promise and the thread-safe function, then starts Self::run() on a thread of its own.
    // `onDone` runs on the JS thread when the job settles, before its promise does.
    Napi::Promise launch(Napi::Env env, const char* name, std::function<void()> onDone, Self** handleOut) {
        Self* self = static_cast<Self*>(this);
        deferred_ = new Napi::Promise::Deferred(Napi::Promise::Deferred::New(env));
        onDone_ = std::move(onDone);
        Napi::Promise promise = deferred_->Promise();
        tsfn_ = Tsfn::New(env, name, 0, 1, self, &NativeJob::finalize, static_cast<void*>(nullptr));
        *handleOut = self;
        thread_ = std::thread([self] { self->run(); });
        return promise;
    }

    // Native thread: an event for JS, dropped when JS cannot take it now (progress, streamed segments).
    void post(Event* event) {
        if (tsfn_.NonBlockingCall(event) != napi_ok) delete event;
    }

    // Native thread, last: the final event, waited for, then the thread-safe function let go.
    void finish(Event* event) {
        if (tsfn_.BlockingCall(event) != napi_ok) delete event;
        tsfn_.Release();
    }

    // JS thread, once: settles the promise.
    void resolve(Napi::Value value) {
        if (onDone_) onDone_();
        deferred_->Resolve(value);
    }
    void reject(Napi::Env env, const std::string& code, const std::string& message) {
        if (onDone_) onDone_();
        deferred_->Reject(jobError(env, code, message).Value());
    }

    std::atomic<bool> aborted_{false};

private:
    static void callJs(Napi::Env env, Napi::Function, Self* job, Event* event) {
        std::unique_ptr<Event> owned(event);
        if (env == nullptr || job == nullptr) return;
        job->handle(env, *owned);
    }

    static void finalize(Napi::Env, void*, Self* job) {
        NativeJob* base = job;
        if (base->thread_.joinable()) base->thread_.join();
        delete base->deferred_;
        delete job;
    }

    using Tsfn = Napi::TypedThreadSafeFunction<Self, Event, &NativeJob::callJs>;

    Tsfn tsfn_;
    std::thread thread_;
    Napi::Promise::Deferred* deferred_ = nullptr;  // JS thread only
    std::function<void()> onDone_;                 // JS thread only
};

}  // namespace earshot
