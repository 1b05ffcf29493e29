#include "ParakeetState.h"

#include <utility>

namespace earshot {

Napi::Promise ParakeetStateEngine::start(const Napi::CallbackInfo& info, const ParakeetHandlePtr& model, parakeet_state* state, std::vector<float> pcm,
                                         int threadsOverride, std::function<void()> onDone, ParakeetJob** handleOut) {
    Napi::Env env = info.Env();
    Napi::Value threadsValue = info[1].As<Napi::Object>().Get("threads");
    int threads = threadsValue.IsNumber() ? threadsValue.As<Napi::Number>().Int32Value() : 4;
    if (threads < 1) throw Napi::RangeError::New(env, "transcribe(pcm, options): threads must be 1 or more");
    if (threadsOverride > 0) threads = threadsOverride;
    return ParakeetJob::start(env, model, state, std::move(pcm), threads, info.Length() > 2 ? info[2] : env.Undefined(), std::move(onDone), handleOut);
}

}  // namespace earshot
